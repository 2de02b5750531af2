// The console explains a report's weight where it shows it (admin/weight.tsx).
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { RowWeight, WEIGHT_HELP, WeightFact } from '../src/admin/weight';

describe('report weight', () => {
  it('a queue row says what the number does, with the explanation on hover', () => {
    const html = renderToStaticMarkup(createElement(RowWeight, { weight: 0.1 }));
    expect(html).toContain('>counts 0.1<');
    expect(html).toContain('title="How much this report counts towards an automatic cool-down');
  });

  it('the detail keeps the bare number and shows the explanation beside it', () => {
    const html = renderToStaticMarkup(createElement(WeightFact, { weight: 0.01 }));
    // tests/e2e/test_console.py reads detail-weight as a number
    expect(html).toMatch(/data-testid="detail-weight"[^>]*>0\.01<\/span>/);
    expect(html).toContain('data-testid="detail-weight-help"');
    expect(WEIGHT_HELP).toMatch(/from 0\.01 for a brand-new identity .* to 1 for an established one/);
    expect(WEIGHT_HELP).toMatch(/verdicts .* raise or lower it/);
  });
});
