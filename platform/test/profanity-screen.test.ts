import { type BlacklistedTerm, englishDataset, englishRecommendedTransformers, type Node, RegExpMatcher, SyntaxKind } from 'obscenity';
import { describe, expect, it } from 'vitest';
import { ProfanityScreen } from '../src/moderation/profanity-screen.js';

const options = { ...englishDataset.build(), ...englishRecommendedTransformers };
const reference = new RegExpMatcher(options);
const screen = new ProfanityScreen(options);

/** Every spelling of a pattern: each optional present and absent, a wildcard as a letter. */
function spellings(nodes: readonly Node[]): string[] {
  let out = [''];
  for (const node of nodes) {
    const parts =
      node.kind === SyntaxKind.Literal
        ? [String.fromCodePoint(...node.chars)]
        : node.kind === SyntaxKind.Wildcard
          ? ['x']
          : ['', ...spellings([node.childNode])];
    out = out.flatMap((prefix) => parts.map((p) => prefix + p));
  }
  return out.filter((s) => s.length > 0);
}

const LEET: Record<string, string> = { a: '4', e: '3', i: '1', o: '0', s: '$', t: '7' };

/** Seeded, so a failure names a text that reproduces. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

function corpus(): string[] {
  const words = options.blacklistedTerms.flatMap((t: BlacklistedTerm) => spellings(t.pattern.nodes));
  const whitelisted = options.whitelistedTerms ?? [];
  const texts = new Set<string>();
  for (const w of words) {
    texts.add(w);
    texts.add(`you ${w.toUpperCase()} there`);
    texts.add(`prefix${w}suffix`); // word boundaries decide these
    texts.add(w.replace(/[aeiost]/g, (c) => LEET[c]!)); // leetspeak
    texts.add(w.replace(/(.)/g, '$1$1$1')); // duplicates the matcher collapses (or not, per letter)
    texts.add(w.split('').join(' ')); // spaced out
    texts.add(w.replace(/a/g, '\u0430').replace(/o/g, '\u043E')); // Cyrillic confusables
  }
  for (const w of whitelisted) {
    texts.add(w);
    texts.add(`what a ${w.toUpperCase()} moment`);
  }
  const rnd = random(424_242);
  const clean = [
    'great',
    'stream',
    'tonight',
    'gg',
    'pog',
    'class',
    'assassin',
    'scunthorpe',
    'cocktail',
    'analysis',
    'button',
    'grape',
    'shitake',
    'hello',
    '!!',
    '🎉',
    '4',
    'x',
  ];
  const pool = [...words, ...whitelisted, ...clean.flatMap((w) => [w, w, w, w, w, w, w, w])];
  for (let i = 0; i < 3_000; i++) {
    const n = 1 + Math.floor(rnd() * 8);
    texts.add(Array.from({ length: n }, () => pool[Math.floor(rnd() * pool.length)]).join(rnd() < 0.8 ? ' ' : ''));
  }
  return [...texts];
}

describe('ProfanityScreen', () => {
  it("answers exactly as obscenity's RegExpMatcher over the dataset's own words, their disguises, the whitelist and random chat", () => {
    const { screen: spied, asked } = screenCountingFullMatches();
    const texts = corpus();
    const disagreements = texts.filter((t) => spied.hasMatch(t) !== reference.hasMatch(t));
    expect(disagreements).toEqual([]);
    // The corpus exercises both answers, and texts the union flags that only the whitelist clears.
    const profane = texts.filter((t) => reference.hasMatch(t)).length;
    expect(profane).toBeGreaterThan(1_000);
    expect(texts.length - profane).toBeGreaterThan(500);
    expect(asked.cleared).toBeGreaterThan(0);
  });

  it('transforms every text exactly as the matcher does before matching (leetspeak, case, confusables, collapsed duplicates)', () => {
    const matcherInternals = reference as unknown as {
      applyTransformers(text: string, set: unknown): [number[], string];
      blacklistMatcherTransformers: unknown;
    };
    const differing = corpus().filter(
      (t) => screen.transform(t) !== matcherInternals.applyTransformers(t, matcherInternals.blacklistMatcherTransformers)[1],
    );
    expect(differing).toEqual([]);
    expect(screen.transform('H3LLLooo W0rld')).toBe('helloo world'); // "o" keeps two in a row, "l" two
    expect(screen.transform('\u0430ss')).toBe('ass');
  });

  it('finds nothing in clean chat without asking the full matcher', () => {
    const { screen: spied, asked } = screenCountingFullMatches();
    for (let i = 0; i < 100; i++) expect(spied.hasMatch(`Great stream tonight! tip number ${i}, keep it up`)).toBe(false);
    expect(asked.total).toBe(0);
    expect(spied.hasMatch('what the fuck')).toBe(true);
    expect(asked.total).toBe(1);
  });
});

/** A screen whose full matcher counts the texts it is asked about, and those it clears. */
function screenCountingFullMatches(): { screen: ProfanityScreen; asked: { total: number; cleared: number } } {
  const spied = new ProfanityScreen(options);
  const asked = { total: 0, cleared: 0 };
  const inner = (spied as unknown as { matcher: RegExpMatcher }).matcher;
  const original = inner.hasMatch.bind(inner);
  inner.hasMatch = (text: string) => {
    asked.total++;
    const answer = original(text);
    if (!answer) asked.cleared++;
    return answer;
  };
  return { screen: spied, asked };
}
