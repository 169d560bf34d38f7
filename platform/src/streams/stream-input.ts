// What a stream's settings may be: the schemas that turn a creator's title, tags, category and
// language into the normalised values the catalog stores, and the same normalisation for the filters
// the directory lists by (so that "#Speedrun" finds "speedrun"). Pure functions and schemas: it never
// reads or writes the database and never decides who may change a stream (StreamCatalog does).
import { z } from 'zod';
import { badRequest } from '../errors.js';
import { stripInvisible } from '../moderation/text-filter.js';

export interface StreamInput {
  title: string;
  tags?: string[];
  category?: string;
  language?: string;
}

export type StreamPatch = Partial<StreamInput>;

/** A stream holds at most this many tags (and a listing filters by at most this many). */
export const MAX_TAGS = 10;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether text is a user id (a UUID): anything else names no user, and is never sent to the database. */
export function isUserId(text: string): boolean {
  return UUID_PATTERN.test(text);
}

/**
 * lower-case, trimmed, a leading '#' dropped ("#Speedrun"), inner whitespace and runs of '-' as one
 * '-'; empty entries dropped, duplicates removed (by the Tags schema).
 */
export function normaliseTag(tag: string): string {
  return tag
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/^#+/, '')
    .replace(/[\s-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** trimmed, runs of whitespace as one space; case is kept for display (filters ignore it). */
export function normaliseCategory(category: string): string {
  return category.normalize('NFKC').trim().replace(/\s+/g, ' ');
}

/** trimmed, lower-case, '_' as '-' ("PT_br" -> "pt-br"). */
export function normaliseLanguage(language: string): string {
  return language.trim().toLowerCase().replace(/_/g, '-');
}

// Bidi controls could reorder what the directory shows around the title; zero-width ones hide text.
const Title = z
  .string()
  .transform(stripInvisible)
  .pipe(z.string().trim().min(1, 'title must not be empty').max(140, 'title is at most 140 characters'));
const Tags = z
  .array(z.string(), 'tags must be a list of strings')
  .max(100, `at most ${MAX_TAGS} tags`)
  .transform((tags) => [...new Set(tags.map(normaliseTag).filter((t) => t.length > 0))])
  .pipe(
    z.array(z.string().regex(/^[a-z0-9-]{1,25}$/, 'a tag is 1 to 25 letters, digits or dashes')).max(MAX_TAGS, `at most ${MAX_TAGS} tags`),
  );
const Category = z.string().transform(normaliseCategory).pipe(z.string().max(50, 'category is at most 50 characters'));
const Language = z
  .string()
  .transform(normaliseLanguage)
  .pipe(
    z
      .string()
      .max(8)
      .regex(/^[a-z]{2,3}(-[a-z0-9]{2,4})?$/, 'language is a code such as "en" or "pt-br"'),
  );

export const CreateInput = z.object({
  title: Title,
  tags: Tags.default([]),
  category: Category.default(''),
  language: Language.default('en'),
});
export const PatchInput = z.object({
  title: Title.optional(),
  tags: Tags.optional(),
  category: Category.optional(),
  language: Language.optional(),
});

/** Parses a stream's settings; the first offending field names the 400's code (`invalid_title`, `invalid_tags`, ...). */
export function parseStreamInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const field = String(issues[0]?.path[0] ?? 'stream');
  const message = issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  throw badRequest(`invalid_${field}`, message);
}

/**
 * The tags a listing filters by (every one must match): each normalised like a stored tag, empty ones
 * dropped, deduplicated and sorted (equal filters read and cache alike). More than MAX_TAGS -> 400.
 */
export function normaliseTagFilter(tag: string | readonly string[] | undefined): string[] {
  if (tag === undefined) return [];
  const tags = [...new Set((typeof tag === 'string' ? [tag] : tag).map(normaliseTag).filter((t) => t.length > 0))].sort();
  if (tags.length > MAX_TAGS) throw badRequest('invalid_query', `at most ${MAX_TAGS} tag filters`);
  return tags;
}
