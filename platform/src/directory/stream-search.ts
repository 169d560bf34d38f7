// Directory search: turns the text a viewer typed into a bounded list of words, and those words into
// the SQL that keeps matching streams and scores them. The PostgreSQL implementation uses the search
// document that migration 002 maintains on each stream (tsvector for whole and prefix words, pg_trgm
// word similarity for typos), so it runs unchanged on PostgreSQL and on embedded PGlite. It must never
// put the viewer's text into SQL (parameters only) nor emit a condition that no index can serve.
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

/**
 * A search engine for the directory. Narrow on purpose: it filters and scores `streams s` rows.
 * An engine outside PostgreSQL would implement it by asking its index for ids and scores and
 * returning `s.id = ANY($ids)` and a CASE over them.
 */
export interface StreamSearch {
  /** SQL over `streams s` (joined to `users u`): `where` keeps matches, `score` ranks them (higher first). */
  match(query: SearchQuery, param: AddParam): SearchSql;
}

export interface SearchSql {
  where: string;
  score: string;
  /** Statements (SET LOCAL ...) to run first, in the same transaction as the query. */
  setup: string[];
}

/**
 * pg_trgm's word similarity above which a word counts as a typo of a document word. The default
 * (0.6) misses one-letter slips in short words ("cstle" vs "castle" is 0.5); lower than 0.5 lets
 * three-letter words match unrelated longer ones.
 */
export const WORD_SIMILARITY_THRESHOLD = 0.5;

/**
 * A search that runs longer than this is cancelled by PostgreSQL and answered `400
 * search_too_broad` (a common word over the whole history of ended streams can match hundreds of
 * thousands of rows). Not enforced by embedded PGlite, which has no statement timer.
 */
export const SEARCH_TIMEOUT_MS = 2000;

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
  const words = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const unique = [...new Set(words.map((w) => w.slice(0, MAX_WORD_CHARS)))];
  return { words: unique.slice(0, MAX_QUERY_WORDS) };
}

/**
 * Full-text plus trigram search in PostgreSQL. Every word must match (AND), each either as a word
 * prefix in the weighted tsvector or, for words of 3+ characters, by pg_trgm word similarity
 * (WORD_SIMILARITY_THRESHOLD, set per query with SET LOCAL: "speedrn" finds "speedrun").
 * Score: ts_rank with weights tags 1.0 > title 0.4 > category 0.2 > owner 0.1, plus the word
 * similarity of the whole query, rounded so that cursors can carry it exactly.
 */
export class PostgresStreamSearch implements StreamSearch {
  match(query: SearchQuery, param: AddParam): SearchSql {
    if (query.words.length === 0) return { where: 'false', score: '0::numeric', setup: [] };
    const conditions = query.words.map((word) => {
      if (word.length < MIN_FUZZY_WORD_CHARS) return `s.search_doc @@ to_tsquery('simple', ${param(word)})`;
      const p = param(word);
      return `(s.search_doc @@ to_tsquery('simple', ${p} || ':*') OR ${p} <% s.search_text)`;
    });
    const anyPrefix = param(query.words.map((w) => (w.length < MIN_FUZZY_WORD_CHARS ? w : `${w}:*`)).join(' | '));
    const whole = param(query.words.join(' '));
    const score =
      `round((ts_rank('{0.1,0.2,0.4,1.0}', s.search_doc, to_tsquery('simple', ${anyPrefix}))` +
      ` + word_similarity(${whole}, s.search_text))::numeric, 6)`;
    // A constant, not a parameter: SET takes no bind parameters.
    const setup = [
      `SET LOCAL pg_trgm.word_similarity_threshold = ${WORD_SIMILARITY_THRESHOLD}`,
      `SET LOCAL statement_timeout = ${SEARCH_TIMEOUT_MS}`,
    ];
    return { where: conditions.join(' AND '), score, setup };
  }
}
