// The PostgreSQL adapter (postgres.js): used when DATABASE_URL is set, so several nodes share one
// database. Speaks only the Database interface; never builds SQL from values (parameters only).
import postgres from 'postgres';
import type { Database, Queryable } from './database.js';

type Params = postgres.ParameterOrJSON<never>[];

export async function openPostgres(url: string): Promise<Database> {
  const sql = postgres(url, {
    max: 10,
    connect_timeout: 10,
    onnotice: () => {}, // "already exists, skipping" and the like are not events worth a log line
  });
  // Fail at start-up, not on the first request, when the server is unreachable.
  try {
    await sql.unsafe('SELECT 1');
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw err;
  }

  const run = async <T>(conn: postgres.Sql | postgres.TransactionSql, text: string, params?: readonly unknown[]) => {
    const rows = await conn.unsafe(text, (params ?? []) as Params);
    return rows as unknown as T[];
  };

  return {
    kind: 'postgres',
    query: <T = Record<string, unknown>>(text: string, params?: readonly unknown[]) => run<T>(sql, text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const result = await sql.begin((tx) =>
        fn({ query: <R = Record<string, unknown>>(text: string, params?: readonly unknown[]) => run<R>(tx, text, params) }),
      );
      return result as T;
    },
    async ping() {
      try {
        await sql.unsafe('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
