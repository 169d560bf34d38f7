// Directory search: turns the text a viewer typed into a bounded list of words, and those words into
// the SQL that gathers a bounded set of candidate streams, keeps those that match and scores them.
// The PostgreSQL implementation uses the search document that migration 002 maintains on each stream
// (tsvector for whole and prefix words), its lexicon of words (pg_trgm similarity for typos) and the
// per-word postings of migration 005 (the best candidates per word, straight from an index), so it
// runs unchanged on PostgreSQL and on embedded PGlite. It must never put the viewer's text into SQL
// (parameters only), nor read more rows than its candidate bounds however common a word is.
import { badRequest } from '../errors.js';

export const MAX_QUERY_CHARS = 200;
/** Words beyond this many are ignored (each word is one more index probe). */
export const MAX_QUERY_WORDS = 8;
/** Words shorter than this match whole words only: a one-letter prefix would match half the table. */
export const MIN_FUZZY_WORD_CHARS = 3;
const MAX_WORD_CHARS = 40;

export interface SearchQuery {
  /** Lower-cased words of letters and digits, deduplicated, at most MAX_QUERY_WORDS. */
  words: string[];
}

/** Adds a bind parameter and returns its placeholder ($n). */
export type AddParam = (value: unknown) => string;

/** Which streams a search covers: the live ones, the ended ones, or both (`live` omitted). */
export type SearchScope = 'live' | 'ended' | 'all';

/**
 * A search engine for the directory. Narrow on purpose: it filters and scores `streams s` rows.
 * An engine outside PostgreSQL would implement it by asking its index for ids and scores and
 * returning `s.id = ANY($ids)` and a CASE over them.
 */
export interface StreamSearch {
  /** SQL over `streams s` (joined to `users u`): `where` keeps matches, `score` ranks them (higher first). */
  match(query: SearchQuery, param: AddParam, scope?: SearchScope): SearchSql;
}

export interface SearchSql {
  /** Common table expressions (without the WITH) the other parts read; '' when none. */
  with: string;
  /** What to read `s` from instead of `FROM streams s` (the candidates, say), ending in alias `s`. */
  source: string;
  /** Joined after the source (for example a one-row subquery the other parts read). */
  from: string;
  where: string;
  score: string;
  /** Statements (SET LOCAL ...) to run first, in the same transaction as the query. */
  setup: string[];
}

/**
 * pg_trgm similarity (0..1) at which a lexicon word counts as a spelling of a query word:
 * "speedrn"/"speedrun" 0.55, "cstle"/"castle" 0.44, "chss"/"chess" 0.38.
 */
export const WORD_SIMILARITY_THRESHOLD = 0.35;
/** A query word is expanded to at most this many lexicon words (the most similar first). */
export const MAX_EXPANSIONS = 8;

/**
 * A prefix ("minec") is expanded to at most this many vocabulary words (in bytewise order) when
 * candidates are gathered from ended streams; the match itself still accepts every word with it.
 */
export const MAX_PREFIX_EXPANSIONS = 8;
/**
 * Over ended streams, each query word contributes at most this many candidates: its best postings
 * (tag matches, then title, category, owner name; most recently live first), over its spellings.
 * Only the candidates are checked against the whole query and ranked, so a search reads a few
 * thousand rows at most however many of the 1,000,000+ ended streams contain a common word.
 */
export const ENDED_CANDIDATES_PER_WORD = 200;
/**
 * The same bound over live streams: all of them when a word is in fewer live streams than this
 * (nearly always), the best of them otherwise (a word such as a category in 1,000s of live streams).
 */
export const LIVE_CANDIDATES_PER_WORD = 500;
/**
 * A statement guard: a directory query that runs longer than this is cancelled by PostgreSQL and
 * answered `400 search_too_broad` (or `listing_too_broad`), never a 500. Every shape is bounded by
 * design, so this only fires on a database in trouble. Not enforced by embedded PGlite, which has no
 * statement timer.
 */
export const SEARCH_TIMEOUT_MS = 1000;

/**
 * Validates and splits `q`. Blank -> null (no search). Over MAX_QUERY_CHARS -> 400 invalid_query.
 * Everything that is not a letter or a digit separates words, so SQL, LIKE, regex and tsquery
 * metacharacters never reach the database as syntax. A query with no words at all (`%`, `!!`)
 * is a search that matches nothing.
 */
export function parseSearchQuery(q: string | undefined): SearchQuery | null {
  if (q === undefined) return null;
  const text = q.trim();
  if (text.length === 0) return null;
  if (text.length > MAX_QUERY_CHARS) throw badRequest('invalid_query', `q is at most ${MAX_QUERY_CHARS} characters`);
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  const unique = [...new Set(words.map((w) => w.slice(0, MAX_WORD_CHARS)))];
  return { words: unique.slice(0, MAX_QUERY_WORDS) };
}

/**
 * Full-text search in PostgreSQL with typo tolerance from a lexicon (migration 002, search_words).
 * Every query word must match (AND). A word of 3+ characters matches as a word prefix ("minec:*")
 * or as one of its MAX_EXPANSIONS most similar lexicon words by pg_trgm similarity (typos); a
 * shorter word matches whole words only. The expansions are computed once per query (a
 * materialised CTE).
 * Rows considered: a bounded candidate set from search_postings (migration 005), at most
 * LIVE_CANDIDATES_PER_WORD live and ENDED_CANDIDATES_PER_WORD ended streams per query word (the
 * best postings of its spellings, straight from an index), then checked against the whole query
 * and ranked. So a search finds every stream whose words are rare enough and the best (tag, then
 * title...; most recently live) of those with very common words, and never reads or ranks the
 * 100,000+ streams a common word is in.
 * Score: ts_rank with weights tags 1.0 > title 0.4 > category 0.2 > owner 0.1, over every accepted
 * spelling, plus the rank over the words as typed (an exact or prefix match beats a typo match),
 * rounded so that cursors can carry it exactly.
 */
export class PostgresStreamSearch implements StreamSearch {
  match(query: SearchQuery, param: AddParam, scope: SearchScope = 'all'): SearchSql {
    if (query.words.length === 0) return { with: '', source: 'streams s', from: '', where: 'false', score: '0::numeric', setup: [] };
    const typed: string[] = [];
    const accepted: string[] = [];
    const candidates: string[] = [];
    // The vocabulary words each query word stands for, looked up once: its MAX_EXPANSIONS most
    // similar words (kind 's', typos) and, for gathering candidates, words it is a prefix of ('p').
    const expansions: string[] = [];
    query.words.forEach((word, i) => {
      const p = param(word);
      if (word.length < MIN_FUZZY_WORD_CHARS) {
        typed.push(`to_tsquery('simple', ${p})`);
        accepted.push(`to_tsquery('simple', ${p}) AS w${i}`);
        candidates.push(`SELECT ${p}::text AS word`);
        return;
      }
      const nearest = `SELECT word FROM search_words WHERE word % ${p} ORDER BY word <-> ${p} LIMIT ${MAX_EXPANSIONS}`;
      const prefixed =
        `SELECT word FROM search_words WHERE word COLLATE "C" >= ${p} AND word COLLATE "C" < ${p} || chr(1114111)` +
        ` ORDER BY word COLLATE "C" LIMIT ${MAX_PREFIX_EXPANSIONS}`;
      expansions.push(`SELECT ${i} AS i, 's' AS kind, word FROM (${nearest}) n`);
      expansions.push(`SELECT ${i}, 'p', word FROM (${prefixed}) x`);
      const prefix = `to_tsquery('simple', ${p} || ':*')`;
      const similar = `(SELECT to_tsquery('simple', string_agg(quote_literal(e.word), ' | ')) FROM ex e WHERE e.i = ${i} AND e.kind = 's')`;
      typed.push(prefix);
      accepted.push(`${prefix} || coalesce(${similar}, ${prefix}) AS w${i}`);
      candidates.push(`SELECT ${p}::text AS word UNION SELECT e.word FROM ex e WHERE e.i = ${i}`);
    });
    const names = query.words.map((_, i) => `w${i}`);
    // MATERIALIZED: each expansion is computed once per query, and the GIN scans read one tsquery.
    const ctes = [
      ...(expansions.length ? [`ex AS MATERIALIZED (${expansions.join(' UNION ALL ')})`] : []),
      `sq AS MATERIALIZED (SELECT ${names.join(' && ')} AS match, ${names.join(' || ')} AS accepted, ${typed.join(' || ')} AS typed` +
        ` FROM (SELECT ${accepted.join(', ')}) words)`,
    ];
    // Candidates: the best postings of each query word's spellings, live and/or ended (bounded).
    const parts: string[] = [];
    for (const words of candidates) {
      if (scope !== 'ended') parts.push(`(${postingsOf(words, true, LIVE_CANDIDATES_PER_WORD)})`);
      if (scope !== 'live') parts.push(`(${postingsOf(words, false, ENDED_CANDIDATES_PER_WORD)})`);
    }
    ctes.push(`hits AS MATERIALIZED (${parts.join(' UNION ')})`);
    // Streams are read by id from the candidates only (OFFSET 0 keeps the planner from trading
    // this for a scan that filters): never more rows than candidates, whatever the filters.
    const source = 'hits CROSS JOIN LATERAL (SELECT * FROM streams WHERE streams.id = hits.id OFFSET 0) s';
    const from = 'CROSS JOIN sq';
    // the candidates are checked against the whole query (every word must match)
    const where = 's.search_doc @@ sq.match';
    const weights = `'{0.1,0.2,0.4,1.0}'`;
    const score = `round((ts_rank(${weights}, s.search_doc, sq.accepted) + ts_rank(${weights}, s.search_doc, sq.typed))::numeric, 6)`;
    // Like SET LOCAL, in one round trip (constants, not viewer input).
    const setup = [
      `SELECT set_config('pg_trgm.similarity_threshold', '${WORD_SIMILARITY_THRESHOLD}', true), ` +
        `set_config('statement_timeout', '${SEARCH_TIMEOUT_MS}', true)`,
    ];
    return { with: ctes.join(', '), source, from, where, score, setup };
  }
}

/**
 * The best postings of live or ended streams for any of `words` (a query yielding a `word` column),
 * as distinct stream ids. A stream holds one posting per spelling it contains ("lo-fi", "lofi", "lo"
 * are all spellings of "lofi"), so its postings are grouped into one candidate (its best weight):
 * otherwise it is listed once per spelling, and takes that many of the `limit` places.
 */
function postingsOf(words: string, live: boolean, limit: number): string {
  const best = 'ORDER BY p.weight DESC, p.at DESC, p.stream_id DESC';
  return (
    `SELECT c.stream_id AS id FROM (SELECT p.stream_id, max(p.weight) AS best, max(p.at) AS last FROM (${words}) e` +
    ` CROSS JOIN LATERAL (SELECT p.stream_id, p.weight, p.at FROM search_postings p WHERE p.word = e.word AND ${live ? '' : 'NOT '}p.live` +
    ` ${best} LIMIT ${limit}) p GROUP BY p.stream_id ORDER BY best DESC, last DESC, p.stream_id DESC LIMIT ${limit}) c`
  );
}
