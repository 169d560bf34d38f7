// Opens OnAir's storage: PostgreSQL when a URL is configured, embedded PGlite otherwise, and brings the
// schema up to date before anyone uses it. The one place that chooses an adapter; nothing else may.
import type { Database } from './database.js';
import { openEmbedded } from './embedded.js';
import { migrate } from './migrate.js';
import { openPostgres } from './postgres.js';

export interface DatabaseOptions {
  /** PostgreSQL connection URL; when absent the embedded database is used. */
  databaseUrl?: string | undefined;
  /** Where the embedded database keeps its files (under <dataDir>/pg); null keeps it in memory. */
  dataDir: string | null;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db = options.databaseUrl ? await openPostgres(options.databaseUrl) : await openEmbedded(options.dataDir);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
