// Edge validation: turns a request body, query or path params into typed values with a zod schema,
// or a 400 naming every offending field. Checks shape only; domain rules live in the domain modules.
import type { z } from 'zod';
import { badRequest } from '@onair/platform';

function parseWith<S extends z.ZodType>(code: string, what: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw badRequest(code, `invalid ${what}: ${problems.join('; ')}`);
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  return parseWith('invalid_body', 'request body', schema, body ?? {});
}

export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  return parseWith('invalid_query', 'query string', schema, query ?? {});
}

// C0 controls and DEL: no id, name or key OnAir hands out contains one.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.output<S> {
  for (const [name, value] of Object.entries((params ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string' && CONTROL.test(value)) throw badRequest('invalid_params', `invalid path: ${name}: control characters`);
  }
  return parseWith('invalid_params', 'path', schema, params ?? {});
}
