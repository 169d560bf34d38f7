// The PostgreSQL adapter when the server drops its connections (pg_terminate_backend on this test's
// own database, which is what a restart does to each session, without disturbing other databases):
// statements and transactions in flight fail with DatabaseUnavailable (503) and nothing else, nothing
// escapes as an uncaught exception or rejection, a transaction never half-commits or runs a statement
// on a later connection, and the adapter serves again right after. With postgres.js's own `sql.begin`
// the same load threw TypeErrors from a timer and left the pool unable to connect.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailable, isAppError } from '@onair/platform';
import { useTestDatabase } from '../../test/support/databases.js';

describe('the PostgreSQL adapter when connections are lost', () => {
  const t = useTestDatabase('postgres');
  let admin: postgres.Sql;
  const escaped: unknown[] = [];
  const record = (err: unknown) => escaped.push(err);

  beforeAll(async () => {
    admin = postgres(t.url!, { max: 1, onnotice: () => {} });
    await t.db.query('CREATE TABLE loss_counter (id int PRIMARY KEY, n bigint NOT NULL)');
    await t.db.query('CREATE TABLE loss_log (k text PRIMARY KEY)');
    await t.db.query('INSERT INTO loss_counter VALUES (1, 0)');
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
  });
  afterAll(async () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
    await admin?.end({ timeout: 1 });
  });

  const killSessions = () =>
    admin.unsafe(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );

  it('fails work in flight with 503 database_unavailable only, and serves again at once', async () => {
    const db = t.db;
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    let committed = 0;
    let stop = false;
    const classify = (err: unknown) => (err instanceof DatabaseUnavailable ? 'unavailable' : `other: ${String(err)}`);
    const transactions = async () => {
      while (!stop) {
        try {
          await db.transaction(async (tx) => {
            await tx.query('SELECT n FROM loss_counter WHERE id = 1 FOR UPDATE');
            await tx.query('SELECT pg_sleep(0.002)');
            await tx.query('UPDATE loss_counter SET n = n + 1 WHERE id = 1');
          });
          committed++;
          count('committed');
        } catch (err) {
          count(classify(err));
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    const statements = async () => {
      while (!stop) {
        try {
          await db.query('SELECT $1::int + 1 AS x', [1]);
          count('statement');
        } catch (err) {
          count(classify(err));
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    };
    const load = Promise.all([...Array.from({ length: 8 }, transactions), ...Array.from({ length: 8 }, statements)]);
    let killed = 0;
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 100 + i * 17));
      killed += (await killSessions())[0]!.n as number;
    }
    // Once the kills stop, the very next work succeeds: no connection is left stuck or stale.
    const recoveredBy = Date.now() + 2000;
    const afterKills = committed;
    while (committed < afterKills + 20 && Date.now() < recoveredBy) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await load;

    expect(killed).toBeGreaterThan(0);
    expect(outcomes.get('unavailable') ?? 0).toBeGreaterThan(0);
    expect([...outcomes.keys()].filter((k) => k.startsWith('other'))).toEqual([]);
    expect(committed).toBeGreaterThanOrEqual(afterKills + 20);
    expect(escaped).toEqual([]);
    const rows = await db.query<{ n: string }>('SELECT n::text AS n FROM loss_counter WHERE id = 1');
    // Some transactions whose COMMIT was cut off may have committed without an answer, never the reverse.
    expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(committed);
    expect(Number(rows[0]!.n)).toBeLessThanOrEqual(committed + (outcomes.get('unavailable') ?? 0));
  });

  it('a transaction whose connection is lost between statements runs nothing more and commits nothing', async () => {
    const db = t.db;
    const err = await db
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO loss_log VALUES ('before')`);
        const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
        await admin.unsafe('SELECT pg_terminate_backend($1)', [pid]);
        await new Promise((r) => setTimeout(r, 200)); // the close has reached this process
        await tx.query(`INSERT INTO loss_log VALUES ('after')`);
      })
      .catch((e: unknown) => e);
    expect(isAppError(err) && [err.status, err.code]).toEqual([503, 'database_unavailable']);
    expect(await db.query('SELECT k FROM loss_log')).toEqual([]);
    // and the adapter goes on
    expect(await db.transaction((tx) => tx.query<{ x: number }>('SELECT 1 AS x'))).toEqual([{ x: 1 }]);
    expect(escaped).toEqual([]);
  });
});
