// The embedded adapter (PGlite: PostgreSQL compiled to WebAssembly, in this process): used when no
// DATABASE_URL is set, so `npm start` needs no servers. Data lives under <dataDir>/pg, or in memory
// when dataDir is null (tests). Single-node only: never point two processes at the same directory.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { Database, Queryable } from './database.js';

export async function openEmbedded(dataDir: string | null): Promise<Database> {
  let pgDir: string | undefined;
  if (dataDir !== null) {
    pgDir = join(dataDir, 'pg');
    await mkdir(pgDir, { recursive: true });
  }
  const pg = await PGlite.create({ dataDir: pgDir, extensions: { pg_trgm } });

  return {
    kind: 'embedded',
    capabilities: { maxConcurrentConnections: 1, singleNode: true },
    async query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]) {
      const res = await pg.query<T>(text, params ? [...params] : []);
      return res.rows;
    },
    // PGlite has one connection and a mutex: statements issued on `pg` (not on `tx`) inside fn wait
    // for the transaction to end, so fn must use only the tx it is given.
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return pg.transaction((tx) =>
        fn({
          async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]) {
            const res = await tx.query<R>(text, params ? [...params] : []);
            return res.rows;
          },
        }),
      );
    },
    async ping() {
      try {
        await pg.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (!pg.closed) await pg.close();
    },
  };
}
