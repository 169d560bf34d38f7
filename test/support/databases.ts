// Test fixture: a fresh, migrated OnAir database per test file, on either storage adapter, so each
// domain suite runs against embedded PGlite (in memory) and a real PostgreSQL alike. PostgreSQL comes
// from TEST_DATABASE_URL (a database to connect to for CREATE/DROP DATABASE); when it is unreachable
// the suite fails, it never skips. Never touches a database it did not create.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type Database } from '@onair/platform';

export type StorageKind = 'embedded' | 'postgres';
export const STORAGE_KINDS: StorageKind[] = ['embedded', 'postgres'];
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  kind: StorageKind;
  db: Database;
  /** The fresh PostgreSQL database's URL (to open more connections, as a second node would). */
  url: string | undefined;
  dispose(): Promise<void>;
}

export async function createTestDatabase(kind: StorageKind): Promise<TestDatabase> {
  if (kind === 'embedded') {
    const db = await openDatabase({ dataDir: null });
    return { kind, db, url: undefined, dispose: () => db.close() };
  }
  const name = `onair_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } catch (err) {
    await admin.end({ timeout: 1 });
    throw new Error(`PostgreSQL at ${TEST_DATABASE_URL} is needed for these tests: ${(err as Error).message}`);
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: url.toString(), dataDir: null });
  } catch (err) {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.end({ timeout: 1 });
    throw err;
  }
  return {
    kind,
    db,
    url: url.toString(),
    async dispose() {
      await db.close().catch(() => {});
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/**
 * Registers beforeAll/afterAll hooks in the calling describe block and returns a handle whose
 * `db` is ready inside tests: `const t = useTestDatabase(kind); ... t.db.query(...)`.
 */
export function useTestDatabase(kind: StorageKind): { readonly db: Database; readonly url: string | undefined } {
  let current: TestDatabase | undefined;
  beforeAll(async () => {
    current = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await current?.dispose();
    current = undefined;
  });
  return {
    get db() {
      if (!current) throw new Error('the test database is not open (used outside a test?)');
      return current.db;
    },
    get url() {
      return current?.url;
    },
  };
}
