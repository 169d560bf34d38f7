// Restarts the machine's own PostgreSQL for the fault tests (a restart in the middle of a load) and
// waits until it answers again. `pg_ctlcluster <version> main restart -m fast` takes about a second;
// other suites share this server, so a test restarts it once and never stops it for longer.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import postgres from 'postgres';
import type { Queryable } from '@onair/platform';
import { TEST_DATABASE_URL } from './databases.js';

const run = promisify(execFile);

/** The machine's PostgreSQL cluster version (Debian layout: /etc/postgresql/<version>/main). */
export function clusterVersion(): string {
  return (
    readdirSync('/etc/postgresql')
      .sort((a, b) => Number(a) - Number(b))
      .at(-1) ?? '15'
  );
}

/** Waits until a fresh connection to TEST_DATABASE_URL answers a query. */
export async function waitForPostgres(timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const sql = postgres(TEST_DATABASE_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql.unsafe('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  }
}

/** Restarts the server (fast shutdown: open sessions are terminated) and waits until it answers. */
export async function restartPostgres(): Promise<void> {
  try {
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', clusterVersion(), 'main', 'restart', '-m', 'fast'], { timeout: 60_000 });
  } finally {
    await waitForPostgres();
  }
}

/** When the server last started: differs before and after a real restart. */
export async function postmasterStartTime(db: Queryable): Promise<string> {
  return (await db.query<{ t: string }>('SELECT pg_postmaster_start_time()::text AS t'))[0]!.t;
}
