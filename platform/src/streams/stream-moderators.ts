// Moderator grants: which users a stream's owner has made moderators of its chat. Grants and revokes
// them (the owner only), answers whether a user is one, and lists them. Reads streams through
// StreamCatalog and writes only `stream_moderators`. Never decides what a moderator may do
// (ChatModeration does) and never tells channel sessions of a change (the caller does).
import type { AuthUser } from '../accounts/tokens.js';
import type { Database } from '../db/database.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { StreamCatalog } from './stream-catalog.js';
import { isUserId } from './stream-input.js';
import type { StreamRecord } from './stream-record.js';

export interface Moderator {
  userId: string;
  username: string;
}

export class StreamModerators {
  constructor(
    private readonly db: Database,
    private readonly streams: StreamCatalog,
  ) {}

  /**
   * Grants moderation of a stream to a user, named by id or by username (case-insensitive); the
   * owner only. Idempotent. The owner cannot be their own moderator (400 `owner_is_moderator`).
   */
  async grant(streamId: string, actor: AuthUser, who: string | { username: string }): Promise<Moderator> {
    const stream = await this.streams.mustGet(streamId);
    assertOwner(stream, actor);
    const users =
      typeof who === 'object'
        ? await this.db.query<{ id: string; username: string }>('SELECT id, username FROM users WHERE username_key = lower($1)', [
            who.username.trim(),
          ])
        : isUserId(who)
          ? await this.db.query<{ id: string; username: string }>('SELECT id, username FROM users WHERE id = $1', [who])
          : [];
    const user = users[0];
    if (!user)
      throw notFound(
        'user_not_found',
        typeof who === 'object' ? `nobody is called ${JSON.stringify(who.username.trim())}` : 'no such user',
      );
    if (user.id === stream.ownerId) throw badRequest('owner_is_moderator', 'the owner already moderates their own stream');
    await this.db.query('INSERT INTO stream_moderators (stream_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [streamId, user.id]);
    return { userId: user.id, username: user.username };
  }

  /** Revokes moderation; the owner only. Idempotent. */
  async revoke(streamId: string, actor: AuthUser, userId: string): Promise<void> {
    const stream = await this.streams.mustGet(streamId);
    assertOwner(stream, actor);
    if (!isUserId(userId)) return;
    await this.db.query('DELETE FROM stream_moderators WHERE stream_id = $1 AND user_id = $2', [streamId, userId]);
  }

  async isModerator(streamId: string, userId: string): Promise<boolean> {
    if (!isUserId(userId)) return false;
    const rows = await this.db.query('SELECT 1 FROM stream_moderators WHERE stream_id = $1 AND user_id = $2', [streamId, userId]);
    return rows.length > 0;
  }

  async list(streamId: string): Promise<Moderator[]> {
    await this.streams.mustGet(streamId);
    const rows = await this.db.query<{ user_id: string; username: string }>(
      `SELECT m.user_id, u.username FROM stream_moderators m JOIN users u ON u.id = m.user_id
       WHERE m.stream_id = $1 ORDER BY u.username_key`,
      [streamId],
    );
    return rows.map((r) => ({ userId: r.user_id, username: r.username }));
  }
}

function assertOwner(stream: StreamRecord, actor: AuthUser): void {
  if (stream.ownerId !== actor.id) throw forbidden('forbidden', "only the stream's owner may do this");
}
