// Clears live flags and viewer counts left behind by a node that stopped without ending its streams
// (a crash, a kill -9). Only a node that owns every stream of its storage (the embedded single-node
// mode) may call it at start-up; with a shared PostgreSQL, other nodes' live streams are not ours.
import type { Queryable } from '../db/database.js';

export async function clearStaleLiveFlags(db: Queryable): Promise<number> {
  const rows = await db.query<{ id: string }>(
    `UPDATE streams SET live = false, ended_at = COALESCE(ended_at, now()), viewer_count = 0 WHERE live RETURNING id`,
  );
  return rows.length;
}
