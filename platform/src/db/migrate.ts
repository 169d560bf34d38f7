// The schema migrator: applies each platform/migrations/NNN_name.sql once, in name order, each in its
// own transaction, and records it in schema_migrations. Safe when several nodes start together on one
// PostgreSQL (a transaction-scoped advisory lock serialises them). Never edits an applied migration's
// effect: a change to the schema is always a new file.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

export interface Migration {
  name: string;
  sql: string;
}

/** platform/migrations, reached the same way from src/db (vitest) and dist/db (built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

/** Arbitrary constant shared by every OnAir node: the key of the migration advisory lock. */
const MIGRATION_LOCK_KEY = 7_366_842_001;

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{3}_[a-z0-9_]+\.sql$/.test(n)).sort();
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(`${dir}/${name}`, 'utf8') })));
}

/** Applies what is pending; returns the names it applied (empty when the schema is current). */
export async function migrate(db: Database, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  const applied: string[] = [];
  for (const m of all) {
    const ran = await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await tx.query('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE name = $1', [m.name]);
      if (done.length > 0) return false;
      for (const statement of splitStatements(m.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [m.name]);
      return true;
    });
    if (ran) applied.push(m.name);
  }
  return applied;
}

/**
 * Splits a SQL script into statements at top-level semicolons, skipping those inside quotes,
 * comments and dollar-quoted bodies (both adapters run one statement per parameterised query).
 * Not a parser: E'' strings with backslash-escaped quotes are not supported in migrations.
 */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  const push = (end: number) => {
    const text = script.slice(start, end).trim();
    if (hasCode && text) out.push(text);
    start = end + 1;
    hasCode = false;
  };
  while (i < script.length) {
    const c = script[i]!;
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? script.length : eol + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < script.length && depth > 0) {
        if (script.startsWith('/*', i)) depth++, (i += 2);
        else if (script.startsWith('*/', i)) depth--, (i += 2);
        else i++;
      }
    } else if (c === "'" || c === '"') {
      hasCode = true;
      const close = script.indexOf(c, i + 1);
      i = close === -1 ? script.length : close + 1; // '' inside a string reads as two adjacent strings
    } else if (c === '$') {
      hasCode = true;
      const tag = /^\$[A-Za-z_]*\$/.exec(script.slice(i))?.[0];
      if (tag) {
        const close = script.indexOf(tag, i + tag.length);
        i = close === -1 ? script.length : close + tag.length;
      } else i++;
    } else if (c === ';') {
      push(i);
      i++;
    } else {
      if (!/\s/.test(c)) hasCode = true;
      i++;
    }
  }
  push(script.length);
  return out;
}
