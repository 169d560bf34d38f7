// The profanity check a chat message or tip pays for: the same answer as obscenity's RegExpMatcher
// for the same dataset and transformers, at a fraction of its cost for the clean text that is nearly
// all of it. RegExpMatcher.hasMatch first locates every whitelisted term, then transforms the text
// through a generic per-character pipeline and runs each of its ~120 patterns as its own regular
// expression: ~40-60 us for a short clean message, ~0.2 core at 5,000 tips/s (bench/README, "The
// chat's rules on tips"). The screen transforms the text as the matcher does (the stateless
// transformers memoised per code point) and runs ONE expression, the union of the same patterns
// compiled as obscenity compiles them. The union matches wherever any single pattern does, so no
// match means the matcher would find none: the text is clean. On a hit (rare) the matcher decides,
// whitelist included. Owns no state between calls; never logs text.
import {
  type BlacklistedTerm,
  type Node,
  type ParsedPattern,
  RegExpMatcher,
  type RegExpMatcherOptions,
  type StatefulTransformer,
  SyntaxKind,
  type TransformerContainer,
} from 'obscenity';

/** A transformer step: stateless ones memoised per code point, stateful ones reset per text. */
type TransformStep =
  | { readonly kind: 'memoised'; readonly run: (char: number) => number | undefined }
  | { readonly kind: 'stateful'; readonly transformer: StatefulTransformer };

/** What the skipped-character memo stores for "this code point is dropped". */
const DROPPED = -1;

export class ProfanityScreen {
  private readonly matcher: RegExpMatcher;
  private readonly union: RegExp;
  private readonly steps: readonly TransformStep[];

  constructor(options: RegExpMatcherOptions) {
    this.matcher = new RegExpMatcher(options);
    this.union = new RegExp(options.blacklistedTerms.map((t: BlacklistedTerm) => `(?:${patternSource(t.pattern)})`).join('|'), 's');
    this.steps = transformSteps(options.blacklistMatcherTransformers ?? []);
  }

  /** True when obscenity's matcher would report a match in `text`. */
  hasMatch(text: string): boolean {
    if (!this.union.test(this.transform(text))) return false;
    return this.matcher.hasMatch(text);
  }

  /** The text as the matcher's blacklist transformers turn it (RegExpMatcher.applyTransformers, without its index map). */
  transform(text: string): string {
    for (const step of this.steps) if (step.kind === 'stateful') step.transformer.reset();
    let out = '';
    for (const ch of text) {
      let char: number | undefined = ch.codePointAt(0);
      for (let i = 0; i < this.steps.length && char !== undefined; i++) {
        const step = this.steps[i]!;
        char = step.kind === 'memoised' ? step.run(char) : step.transformer.transform(char);
      }
      if (char !== undefined) out += String.fromCodePoint(char);
    }
    return out;
  }
}

/** Consecutive stateless transformers fused into one memoised step; stateful ones kept in order. */
function transformSteps(transformers: readonly TransformerContainer[]): TransformStep[] {
  const steps: TransformStep[] = [];
  let run: ((char: number) => number | undefined)[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    const fns = run;
    const memo = new Map<number, number>();
    steps.push({
      kind: 'memoised',
      run: (char) => {
        let out = memo.get(char);
        if (out === undefined) {
          let c: number | undefined = char;
          for (let i = 0; i < fns.length && c !== undefined; i++) c = fns[i]!(c);
          out = c ?? DROPPED;
          // Bounded: code points are at most 0x10FFFF, and a message's are few; 64 k covers any script's.
          if (memo.size < 65_536) memo.set(char, out);
        }
        return out === DROPPED ? undefined : out;
      },
    });
    run = [];
  };
  for (const t of transformers) {
    if ('factory' in t) {
      flush();
      steps.push({ kind: 'stateful', transformer: t.factory() });
    } else {
      run.push(t.transform);
    }
  }
  flush();
  return steps;
}

// obscenity's own compilation (pattern/Util compilePatternToRegExp, not exported), node for node.
const REGEXP_SPECIAL = new Set(['[', '.', '*', '+', '?', '^', '$', '{', '}', '(', ')', '|', '\\', ']'].map((c) => c.charCodeAt(0)));

function patternSource(pattern: ParsedPattern): string {
  let source = pattern.requireWordBoundaryAtStart ? '\\b' : '';
  for (const node of pattern.nodes) source += nodeSource(node);
  return pattern.requireWordBoundaryAtEnd ? `${source}\\b` : source;
}

function nodeSource(node: Node): string {
  switch (node.kind) {
    case SyntaxKind.Literal: {
      let source = '';
      for (const char of node.chars) source += (REGEXP_SPECIAL.has(char) ? '\\' : '') + String.fromCodePoint(char);
      return source;
    }
    case SyntaxKind.Optional:
      return `(?:${nodeSource(node.childNode)})?`;
    case SyntaxKind.Wildcard:
      return '.';
  }
}
