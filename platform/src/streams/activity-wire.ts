// The JSON shapes of a stream's chat bans and activity feed as the HTTP API sends them
// (GET /api/streams/{id}/bans and /activity, docs/api.md). Declared once, here, without imports, so
// the browser SDK re-exports these very types (`@onair/platform/wire`) instead of a copy that could
// drift from what the server returns.

/** A user banned (`until` null) or timed out (until `until`) from a stream's chat. */
export interface ChatBan {
  userId: string;
  username: string;
  /** null: until unbanned. */
  until: string | null;
  reason: string;
  bannedBy: string | null;
  since: string;
}

/** An event of a stream's activity feed, newest first. */
export type ActivityEvent =
  | { kind: 'tip'; at: string; username: string; amount: number; currency: string; message: string | null }
  | { kind: 'ban' | 'timeout'; at: string; username: string; until: string | null; by: string | null }
  | { kind: 'moderator_added'; at: string; username: string };
