// The PostgreSQL adapter (postgres.js): used when DATABASE_URL is set, so several nodes share one
// database. Speaks only the Database interface; never builds SQL from values (parameters only).
// Survives the server restarting or the network dropping: a statement or transaction that meets a
// lost connection fails with DatabaseUnavailable (AppError 503) and nothing escapes as an uncaught
// exception or rejection; the next statement gets a fresh connection (see postgres-connections.ts
// for what postgres.js 3.4.9 gets wrong there, and why this adapter never uses `sql.begin`).
import type { Database, Queryable } from './database.js';
import { DatabaseUnavailable, isConnectionFailure } from './failures.js';
import { PgConnections, type PgConnection } from './postgres-connections.js';

export interface PostgresOptions {
  /** Connections shared by single statements. */
  size: number;
  /** Most transactions open at once (each holds a connection of its own until it ends). */
  transactionSize: number;
  connectTimeoutSeconds: number;
}

const DEFAULTS: PostgresOptions = { size: 10, transactionSize: 8, connectTimeoutSeconds: 10 };

export async function openPostgres(url: string, options: Partial<PostgresOptions> = {}): Promise<Database> {
  const pool = new PgConnections(url, { ...DEFAULTS, ...options });
  // Fail at start-up, not on the first request, when the server is unreachable.
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.close(1);
    throw err;
  }

  const size = { ...DEFAULTS, ...options }.size;
  return {
    kind: 'postgres',
    capabilities: { maxConcurrentConnections: size, singleNode: false },
    async query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]> {
      try {
        return await pool.query<T>(text, params);
      } catch (err) {
        throw availability(err);
      }
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let conn: PgConnection;
      try {
        conn = await pool.lend();
      } catch (err) {
        throw availability(err);
      }
      try {
        return await inTransaction(conn, fn);
      } catch (err) {
        throw availability(err);
      } finally {
        pool.giveBack(conn);
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await pool.close(5);
    },
  };
}

/**
 * BEGIN, fn, COMMIT on one lent connection; ROLLBACK when fn throws. After a lost connection there
 * is nothing to roll back (the server already did) and nothing is sent again. A failed COMMIT after
 * a lost connection may still have committed: callers that retry make their work idempotent (a
 * Stripe event id, a tip's Idempotency-Key).
 */
async function inTransaction<T>(conn: PgConnection, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  // The first failed statement: PostgreSQL aborts the transaction on it, so fn must not commit
  // even if it caught that failure and carried on.
  let failed: { err: unknown } | undefined;
  const tx: Queryable = {
    async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]> {
      try {
        return await conn.run<R>(text, params);
      } catch (err) {
        failed ??= { err };
        throw err;
      }
    },
  };
  await conn.run('BEGIN');
  let result: T;
  try {
    result = await fn(tx);
    if (failed) throw failed.err;
  } catch (err) {
    if (!conn.retired) {
      // A ROLLBACK that fails leaves the session in an unknown state: never lend it again.
      await conn.run('ROLLBACK').catch((rollbackErr: unknown) => conn.retire(rollbackErr));
    }
    throw err;
  }
  await conn.run('COMMIT');
  return result;
}

/** A lost connection or an unreachable server becomes DatabaseUnavailable; anything else is unchanged. */
function availability(err: unknown): unknown {
  return isConnectionFailure(err) && !(err instanceof DatabaseUnavailable) ? new DatabaseUnavailable(err) : err;
}
