// Chat moderation for every stream: bans and timeouts, message deletion, slow mode and blocked
// terms. State lives in the database and is cached per stream on each node; every change is
// published on the bus so all nodes apply it within the bus's latency (well under a second).
// Decides who may moderate (owner, admin, the stream's moderators); never trusts a client's claim.
import { EventEmitter } from 'node:events';
import type { AuthUser } from '../accounts/tokens.js';
import type { Bus, BusSubscription } from '../bus/bus.js';
import { ANY_KEY, streamTopics, type ModerationNotice } from '../bus/topics.js';
import type { ChatHistory } from '../chat/chat-history.js';
import type { Database } from '../db/database.js';
import { badRequest, forbidden, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { StreamCatalog } from '../streams/stream-catalog.js';
import type { StreamModerators } from '../streams/stream-moderators.js';
import { foldText, isBlocked, MAX_BLOCKED_TERM_CHARS, MAX_BLOCKED_TERMS } from './text-filter.js';

export interface ChatSettings {
  slowModeSeconds: number;
  blockedTerms: string[];
}

export type { ModerationNotice };

interface StreamChatState {
  bans: Map<string, number | null>;
  settings: ChatSettings;
  foldedTerms: string[];
}

export const MAX_SLOW_MODE_SECONDS = 3600;
export const MAX_BAN_SECONDS = 366 * 24 * 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class ChatModeration extends EventEmitter<{ notice: [ModerationNotice] }> {
  private states = new Map<string, Promise<StreamChatState>>();
  private sub: BusSubscription;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
    private readonly streams: StreamCatalog,
    private readonly moderators: StreamModerators,
    private readonly history: ChatHistory,
    private readonly log: Logger,
  ) {
    super();
    // Parsed by the topic's schema: a malformed or forged-shape notice never reaches apply().
    this.sub = streamTopics.moderation.subscribe(
      bus,
      ANY_KEY,
      (notice) =>
        void this.apply(notice).catch((err: unknown) => {
          log.error({ err, streamId: notice.streamId, kind: notice.kind }, 'applying a moderation notice failed');
        }),
      { log },
    );
  }

  /**
   * Owner, admin or one of the stream's moderators. A moderator who is banned or timed out from the
   * stream's chat has no powers until it ends (so a banned moderator cannot unban themselves).
   */
  async canModerate(streamId: string, user: AuthUser): Promise<boolean> {
    if (user.role === 'admin') return true;
    const stream = await this.streams.get(streamId);
    if (!stream) return false;
    if (stream.ownerId === user.id) return true;
    return (await this.moderators.isModerator(streamId, user.id)) && (await this.bannedUntil(streamId, user.id)) === null;
  }

  /** The cached state of a stream's chat (loaded from the database on first use). */
  private state(streamId: string): Promise<StreamChatState> {
    let s = this.states.get(streamId);
    if (!s) {
      s = this.load(streamId);
      this.states.set(streamId, s);
      s.catch(() => this.states.delete(streamId));
    }
    return s;
  }

  private async load(streamId: string): Promise<StreamChatState> {
    const bans = await this.db.query<{ user_id: string; until_ms: string | null }>(
      'SELECT user_id, until_ms FROM chat_bans WHERE stream_id = $1 AND (until_ms IS NULL OR until_ms > $2)',
      [streamId, Date.now()],
    );
    const rows = await this.db.query<{ slow_mode_seconds: number; blocked_terms: string[] }>(
      'SELECT slow_mode_seconds, blocked_terms FROM chat_settings WHERE stream_id = $1',
      [streamId],
    );
    const settings = rows[0]
      ? { slowModeSeconds: rows[0].slow_mode_seconds, blockedTerms: rows[0].blocked_terms }
      : { slowModeSeconds: 0, blockedTerms: [] };
    return {
      bans: new Map(bans.map((b) => [b.user_id, b.until_ms === null ? null : Number(b.until_ms)])),
      settings,
      foldedTerms: settings.blockedTerms.map(foldText),
    };
  }

  /** Forgets a stream's cached state (when no one on this node watches it any more). */
  forget(streamId: string): void {
    this.states.delete(streamId);
  }

  /** Updates the cached state; `announce` also tells this node's listeners (the bus copy does that). */
  private async apply(notice: ModerationNotice, emit = true): Promise<void> {
    const cached = this.states.get(notice.streamId);
    if (cached) {
      const s = await cached.catch(() => undefined);
      if (s) {
        if (notice.kind === 'ban') s.bans.set(notice.userId, notice.untilMs);
        else if (notice.kind === 'unban') s.bans.delete(notice.userId);
        else if (notice.kind === 'settings') {
          s.settings = notice.settings;
          s.foldedTerms = notice.settings.blockedTerms.map(foldText);
        }
      }
    }
    if (emit) this.emit('notice', notice);
  }

  private announce(notice: ModerationNotice): void {
    // Without the bus, at least this node's viewers see the change.
    if (this.bus.status !== 'connected') this.emit('notice', notice);
    streamTopics.moderation.publish(this.bus, notice.streamId, notice);
  }

  /**
   * Tells every node that the owner granted or revoked a user's moderator role (already stored by
   * StreamModerators), so that user's open channel sessions change role without reconnecting.
   */
  moderatorChanged(streamId: string, userId: string, moderator: boolean): void {
    this.announce({ kind: 'moderator', streamId, userId, moderator });
  }

  // ---- checks used by the gateway ---------------------------------------------------------------

  /** When the user is banned from the stream's chat: the end of the timeout in ms (Infinity when permanent); else null. */
  async bannedUntil(streamId: string, userId: string): Promise<number | null> {
    const s = await this.state(streamId);
    if (!s.bans.has(userId)) return null;
    const until = s.bans.get(userId)!;
    if (until === null) return Infinity;
    if (until <= Date.now()) {
      s.bans.delete(userId);
      return null;
    }
    return until;
  }

  async settings(streamId: string): Promise<ChatSettings> {
    return (await this.state(streamId)).settings;
  }

  async view(streamId: string): Promise<StreamChatStateView> {
    return this.state(streamId);
  }

  async isBlockedText(streamId: string, text: string): Promise<boolean> {
    return isBlocked(text, (await this.state(streamId)).foldedTerms);
  }

  // ---- moderator actions ----------------------------------------------------------------------

  private async isOwner(streamId: string, user: AuthUser): Promise<boolean> {
    return (await this.streams.get(streamId))?.ownerId === user.id;
  }

  private async assertModerator(streamId: string, actor: AuthUser): Promise<void> {
    const stream = await this.streams.get(streamId);
    if (!stream) throw notFound('stream_not_found', 'no such stream');
    if (!(await this.canModerate(streamId, actor))) throw forbidden('forbidden', "only the stream's owner or moderators may do this");
  }

  async ban(streamId: string, actor: AuthUser, userId: string, options: { durationSeconds?: number; reason?: string } = {}) {
    await this.assertModerator(streamId, actor);
    if (!UUID.test(userId)) throw notFound('user_not_found', 'no such user');
    const users = await this.db.query('SELECT 1 FROM users WHERE id = $1', [userId]);
    if (users.length === 0) throw notFound('user_not_found', 'no such user');
    const stream = await this.streams.get(streamId);
    if (stream?.ownerId === userId) throw badRequest('cannot_ban_owner', "the stream's owner cannot be banned from its chat");
    // Moderators do not ban each other: only the owner (or an admin) may ban or time out a moderator.
    if (actor.role !== 'admin' && !(await this.isOwner(streamId, actor)) && (await this.moderators.isModerator(streamId, userId))) {
      throw forbidden('cannot_ban_moderator', "only the stream's owner can ban or time out a moderator");
    }
    const d = options.durationSeconds;
    if (d !== undefined && (!Number.isInteger(d) || d < 1 || d > MAX_BAN_SECONDS)) {
      throw badRequest('invalid_duration', `durationSeconds is a whole number from 1 to ${MAX_BAN_SECONDS}`);
    }
    const untilMs = d === undefined ? null : Date.now() + d * 1000;
    await this.db.query(
      `INSERT INTO chat_bans (stream_id, user_id, until_ms, reason, banned_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (stream_id, user_id) DO UPDATE SET until_ms = $3, reason = $4, banned_by = $5, created_at = now()`,
      [streamId, userId, untilMs, (options.reason ?? '').slice(0, 500), actor.id],
    );
    const notice: ModerationNotice = { kind: 'ban', streamId, userId, untilMs };
    await this.apply(notice, false);
    this.announce(notice);
    this.log.info({ streamId, userId, by: actor.id, untilMs }, 'chat ban');
    return { streamId, userId, until: untilMs === null ? null : new Date(untilMs).toISOString() };
  }

  async unban(streamId: string, actor: AuthUser, userId: string): Promise<void> {
    await this.assertModerator(streamId, actor);
    if (
      UUID.test(userId) &&
      actor.role !== 'admin' &&
      !(await this.isOwner(streamId, actor)) &&
      (await this.moderators.isModerator(streamId, userId))
    ) {
      throw forbidden('cannot_ban_moderator', "only the stream's owner can lift a moderator's ban or timeout");
    }
    if (UUID.test(userId)) await this.db.query('DELETE FROM chat_bans WHERE stream_id = $1 AND user_id = $2', [streamId, userId]);
    const notice: ModerationNotice = { kind: 'unban', streamId, userId };
    await this.apply(notice, false);
    this.announce(notice);
  }

  async deleteMessage(streamId: string, actor: AuthUser, messageId: string): Promise<void> {
    await this.assertModerator(streamId, actor);
    const found = messageId.length <= 64 && (await this.history.markDeleted(streamId, messageId));
    if (!found) throw notFound('message_not_found', 'no such message in this stream');
    const notice: ModerationNotice = { kind: 'delete', streamId, messageId };
    this.announce(notice);
    this.log.info({ streamId, messageId, by: actor.id }, 'chat message deleted');
  }

  async updateSettings(streamId: string, actor: AuthUser, patch: Partial<ChatSettings>): Promise<ChatSettings> {
    await this.assertModerator(streamId, actor);
    const current = await this.settings(streamId);
    const slow = patch.slowModeSeconds ?? current.slowModeSeconds;
    if (!Number.isInteger(slow) || slow < 0 || slow > MAX_SLOW_MODE_SECONDS) {
      throw badRequest('invalid_slow_mode', `slowModeSeconds is a whole number from 0 to ${MAX_SLOW_MODE_SECONDS}`);
    }
    let terms = current.blockedTerms;
    if (patch.blockedTerms !== undefined) {
      terms = [...new Set(patch.blockedTerms.map((t) => t.trim()).filter((t) => t.length > 0))];
      if (terms.length > MAX_BLOCKED_TERMS || terms.some((t) => t.length > MAX_BLOCKED_TERM_CHARS)) {
        throw badRequest('invalid_blocked_terms', `at most ${MAX_BLOCKED_TERMS} terms of at most ${MAX_BLOCKED_TERM_CHARS} characters`);
      }
    }
    const settings = { slowModeSeconds: slow, blockedTerms: terms };
    await this.db.query(
      `INSERT INTO chat_settings (stream_id, slow_mode_seconds, blocked_terms) VALUES ($1, $2, $3)
       ON CONFLICT (stream_id) DO UPDATE SET slow_mode_seconds = $2, blocked_terms = $3, updated_at = now()`,
      [streamId, settings.slowModeSeconds, settings.blockedTerms],
    );
    const notice: ModerationNotice = { kind: 'settings', streamId, settings };
    await this.apply(notice, false);
    this.announce(notice);
    return settings;
  }

  close(): void {
    this.sub.unsubscribe();
    this.states.clear();
    this.removeAllListeners();
  }
}

export interface StreamChatStateView {
  readonly bans: ReadonlyMap<string, number | null>;
  readonly settings: ChatSettings;
}
