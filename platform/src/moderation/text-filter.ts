// What a chat message may not say: the platform-wide profanity filter (obscenity's English dataset,
// which also catches obfuscated spellings such as "f u c k" or "sh1t") and a stream's own blocked
// terms (case- and accent-insensitive substrings). Pure functions; never logs message text.
import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';

const profanity = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });

export const MAX_BLOCKED_TERMS = 200;
export const MAX_BLOCKED_TERM_CHARS = 50;

/** Lower case, accents removed, whitespace collapsed: the form blocked terms are compared in. */
export function foldText(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function isProfane(text: string): boolean {
  return profanity.hasMatch(text);
}

/** True when the text is profane or contains one of the (already folded) blocked terms. */
export function isBlocked(text: string, foldedTerms: readonly string[]): boolean {
  if (isProfane(text)) return true;
  if (foldedTerms.length === 0) return false;
  const folded = foldText(text);
  return foldedTerms.some((t) => folded.includes(t));
}
