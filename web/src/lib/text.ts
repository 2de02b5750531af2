/**
 * The characters the server removes from chat text and refuses in names
 * (randomchat.protocol.text): controls, lone surrogates and format characters,
 * except the format characters real text needs: ZWNJ and ZWJ (emoji sequences,
 * Persian, Indic scripts), LRM, RLM and ALM (the direction of neutral characters
 * in mixed text) and tag characters (flags). Bidi embeddings, overrides and
 * isolates go: they could reorder the text around a message or a name.
 */
const UNWANTED = '[\\p{Cc}\\p{Cs}]|(?![\\u200c-\\u200f\\u061c\\u{e0020}-\\u{e007f}])\\p{Cf}';

/** ``text`` without the characters the server removes. */
export function removeUnwanted(text: string): string {
  return text.replace(new RegExp(UNWANTED, 'gu'), '');
}

/** Whether ``text`` holds a character the server would refuse in a name. */
export function hasUnwanted(text: string): boolean {
  return new RegExp(UNWANTED, 'u').test(text);
}
