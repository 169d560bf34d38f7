// Stream languages: the codes the API stores and the names people read. Pages show names, never
// codes; a code outside the list is named by the browser (Intl.DisplayNames) or shown as it is.
export const LANGUAGES: ReadonlyArray<readonly [code: string, name: string]> = [
  ['en', 'English'],
  ['es', 'Spanish'],
  ['fr', 'French'],
  ['de', 'German'],
  ['pt', 'Portuguese'],
  ['it', 'Italian'],
  ['ja', 'Japanese'],
  ['ko', 'Korean'],
  ['zh', 'Chinese'],
  ['other', 'Other'],
];

export function languageName(code: string): string {
  const known = LANGUAGES.find(([c]) => c === code)?.[1];
  if (known) return known;
  try {
    return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) ?? code;
  } catch {
    return code;
  }
}
