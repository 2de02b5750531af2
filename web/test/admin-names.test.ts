// Nicknames beside ids in the console (admin/names.tsx): as given, escaped, with the earlier names.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { EarlierNames, NameAndId, earlierNames } from '../src/admin/names';

describe('console names', () => {
  it('earlier names are the other names, once each, newest first', () => {
    expect(earlierNames('Rex', ['Max', 'Rex', 'Max', 'Ann'])).toEqual(['Max', 'Ann']);
    expect(earlierNames('', ['Max'])).toEqual(['Max']);
    expect(earlierNames('Rex', ['Rex'])).toEqual([]);
  });

  it('a name that looks like markup is text, isolated from the id beside it', () => {
    const html = renderToStaticMarkup(createElement(NameAndId, { name: '<img src=x onerror=alert(1)>', id: 'u-1' }));
    expect(html).toContain('<bdi class="nick">&lt;img src=x onerror=alert(1)&gt;</bdi>');
    expect(html).not.toContain('<img');
    expect(html).toContain('<span class="uid">u-1</span>');
  });

  it('says when no name was recorded, and shows nothing for no earlier names', () => {
    expect(renderToStaticMarkup(createElement(NameAndId, { name: '', id: 'u-1' }))).toContain('no name recorded');
    expect(renderToStaticMarkup(createElement(EarlierNames, { current: 'Rex', names: ['Rex'] }))).toBe('');
    const html = renderToStaticMarkup(createElement(EarlierNames, { current: 'Rex', names: ['Rex', 'Max', 'Ann'] }));
    expect(html).toContain('also <span><bdi>Max</bdi></span><span>, <bdi>Ann</bdi></span>');
  });
});
