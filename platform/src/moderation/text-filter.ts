// What a chat message may not say: the platform-wide profanity filter (obscenity's English dataset,
// which also catches obfuscated spellings such as "f u c k" or "sh1t") and a stream's own blocked
// terms (case- and accent-insensitive substrings). Text is normalised before either matches: zero-width
// and bidi control characters removed, compatibility forms folded (NFKC: fullwidth, ligatures), so
// "b\u200Bad" or "ｂａｄ" cannot slip past a term. Pure functions; never logs message text.
import { englishDataset, englishRecommendedTransformers } from 'obscenity';
import { ProfanityScreen } from './profanity-screen.js';

// obscenity's answer at a tenth of its matcher's cost for clean text (profanity-screen.ts).
const profanity = new ProfanityScreen({ ...englishDataset.build(), ...englishRecommendedTransformers });

export const MAX_BLOCKED_TERMS = 200;
export const MAX_BLOCKED_TERM_CHARS = 50;

// Zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM, soft hyphen, Mongolian vowel separator)
// and the bidi controls (LRM, RLM, ALM, embeddings, overrides, isolates).
const INVISIBLE = /[\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\u061C\uFEFF]/g;

/** The text without zero-width and bidi control characters (for titles, and before any matching). */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/** Invisible characters removed and compatibility forms folded (NFKC): what filters look at. */
export function matchableText(text: string): string {
  return stripInvisible(text).normalize('NFKC');
}

/** Lower case, accents removed, whitespace collapsed: the form blocked terms are compared in. */
export function foldText(text: string): string {
  return matchableText(text).normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function isProfane(text: string): boolean {
  return profanity.hasMatch(matchableText(text));
}

/** True when the text is profane or contains one of the (already folded) blocked terms. */
export function isBlocked(text: string, foldedTerms: readonly string[]): boolean {
  if (isProfane(text)) return true;
  if (foldedTerms.length === 0) return false;
  const folded = foldText(text);
  return foldedTerms.some((t) => folded.includes(t));
}
