// What the owner and moderators of a stream see about it beyond the directory: its chat settings as
// stored (anyone sees the chat mode, i.e. slow mode; the blocked terms are theirs only), the users banned or timed out from its chat now (with who did it and until when), and an
// activity feed of tips, bans, timeouts and moderators granted, newest first. Reads only: changing
// any of it is ChatModeration's and StreamCatalog's job. Decides who may read (the stream's owner,
// its moderators, an admin; ChatModeration.canModerate) and never shows it to anyone else.
import type { AuthUser } from '../accounts/tokens.js';
import type { Database } from '../db/database.js';
import { forbidden, notFound } from '../errors.js';
import type { ChatModeration, ChatSettings } from '../moderation/chat-moderation.js';
import type { ActivityEvent, ChatBan } from './activity-wire.js';

export type { ActivityEvent, ChatBan } from './activity-wire.js';

/** What everyone may know of a stream's chat settings: the chat mode shown to joiners. */
export interface ChatMode {
  slowModeSeconds: number;
}

export const MAX_ACTIVITY_EVENTS = 100;

export class StreamActivity {
  constructor(
    private readonly db: Database,
    private readonly moderation: ChatModeration,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * The chat settings in force: all of them (slow mode, blocked terms; for the settings form) to the
   * owner, moderators and admins, the chat mode only to anyone else (blocked terms stay private, so
   * they cannot be spelt around).
   */
  async chatSettings(streamId: string, actor: AuthUser | null): Promise<ChatSettings | ChatMode> {
    await this.assertStreamExists(streamId);
    const settings = await this.moderation.settings(streamId);
    if (actor && (await this.moderation.canModerate(streamId, actor))) return settings;
    return { slowModeSeconds: settings.slowModeSeconds };
  }

  /** Bans and timeouts in force now, newest first (expired timeouts are left out). */
  async bans(streamId: string, actor: AuthUser): Promise<ChatBan[]> {
    await this.assertCanModerate(streamId, actor);
    const rows = await this.db.query<{
      user_id: string;
      username: string;
      until_ms: string | null;
      reason: string;
      by: string | null;
      created_at: Date;
    }>(
      `SELECT b.user_id, u.username, b.until_ms, b.reason, bu.username AS by, b.created_at
       FROM chat_bans b JOIN users u ON u.id = b.user_id LEFT JOIN users bu ON bu.id = b.banned_by
       WHERE b.stream_id = $1 AND (b.until_ms IS NULL OR b.until_ms > $2)
       ORDER BY b.created_at DESC, u.username_key LIMIT 500`,
      [streamId, this.nowMs()],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      username: r.username,
      until: r.until_ms === null ? null : new Date(Number(r.until_ms)).toISOString(),
      reason: r.reason,
      bannedBy: r.by,
      since: new Date(r.created_at).toISOString(),
    }));
  }

  /**
   * Tips, bans and timeouts (the latest per user: a ban replaces an earlier timeout), and
   * moderators granted, newest first, at most `limit`. Unbans and removed moderators leave no trace
   * (their rows are deleted), so they are not in the feed.
   */
  async feed(streamId: string, actor: AuthUser, limit = 50): Promise<ActivityEvent[]> {
    await this.assertCanModerate(streamId, actor);
    const n = Math.min(MAX_ACTIVITY_EVENTS, Math.max(1, Math.floor(limit)));
    const rows = await this.db.query<{
      kind: string;
      at: Date;
      username: string;
      amount: string | null;
      currency: string | null;
      message: string | null;
      until_ms: string | null;
      by: string | null;
    }>(
      `(SELECT 'tip' AS kind, t.created_at AS at, t.from_username AS username, t.amount::text AS amount, t.currency::text AS currency,
               t.message, NULL::text AS until_ms, NULL::text AS by
          FROM tips t WHERE t.stream_id = $1 ORDER BY t.created_at DESC LIMIT $2)
       UNION ALL
       (SELECT CASE WHEN b.until_ms IS NULL THEN 'ban' ELSE 'timeout' END, b.created_at, u.username, NULL, NULL,
               NULLIF(b.reason, ''), b.until_ms::text, bu.username
          FROM chat_bans b JOIN users u ON u.id = b.user_id LEFT JOIN users bu ON bu.id = b.banned_by
          WHERE b.stream_id = $1 ORDER BY b.created_at DESC LIMIT $2)
       UNION ALL
       (SELECT 'moderator_added', m.created_at, u.username, NULL, NULL, NULL, NULL, NULL
          FROM stream_moderators m JOIN users u ON u.id = m.user_id
          WHERE m.stream_id = $1 ORDER BY m.created_at DESC LIMIT $2)
       ORDER BY at DESC LIMIT $2`,
      [streamId, n],
    );
    return rows.map((r): ActivityEvent => {
      const at = new Date(r.at).toISOString();
      if (r.kind === 'tip')
        return {
          kind: 'tip',
          at,
          username: r.username,
          amount: Number(r.amount),
          currency: r.currency ?? 'USD',
          message: r.message || null,
        };
      if (r.kind === 'ban' || r.kind === 'timeout') {
        return {
          kind: r.kind,
          at,
          username: r.username,
          until: r.until_ms === null ? null : new Date(Number(r.until_ms)).toISOString(),
          by: r.by,
        };
      }
      return { kind: 'moderator_added', at, username: r.username };
    });
  }

  private async assertStreamExists(streamId: string): Promise<void> {
    const exists = streamId.length <= 64 && (await this.db.query('SELECT 1 FROM streams WHERE id = $1', [streamId])).length > 0;
    if (!exists) throw notFound('stream_not_found', 'no such stream');
  }

  private async assertCanModerate(streamId: string, actor: AuthUser): Promise<void> {
    await this.assertStreamExists(streamId);
    if (!(await this.moderation.canModerate(streamId, actor)))
      throw forbidden('forbidden', "only the stream's owner or moderators may see this");
  }
}
