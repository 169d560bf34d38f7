// Chat's owner: every rule a message must pass to be said in a stream's chat (signed in, length,
// control characters, bans and timeouts, the bus being up, slow mode, the per-user rate, blocked
// terms), in that order, and what happens to an admitted message (published on the stream's chat
// topic to every node, appended to the stored history). Returns a refusal with a code, a message
// for people and when to retry; never throws for a user's input. Knows no sockets and no frames:
// the gateway maps a refusal to an error frame. The moderation state it reads is injected. Also
// owns who may react, and which stored messages a viewer may be shown (none from banned users).
import { randomBytes } from 'node:crypto';
import type { AuthUser } from '../accounts/tokens.js';
import type { Bus } from '../bus/bus.js';
import { MAX_CHAT_CHARS, streamTopics, type BusChatMessage } from '../bus/topics.js';
import type { ChatSettings } from '../moderation/chat-moderation.js';
import type { ChatHistory } from './chat-history.js';
import type { RateLimiter } from './rate-limiter.js';

export type ChatRefusalCode =
  | 'not_signed_in'
  | 'empty_message'
  | 'too_long'
  /** The public code for control characters (as for an undecodable frame: see docs/api.md). */
  | 'bad_frame'
  | 'banned'
  | 'chat_reconnecting'
  | 'slow_mode'
  | 'rate_limited'
  | 'blocked_term';

export interface ChatRefusal {
  ok: false;
  code: ChatRefusalCode;
  message: string;
  /** 0 when retrying will not help. */
  retryAfterMs: number;
}

export type ChatDecision = { ok: true; message: BusChatMessage } | ChatRefusal;

/** What the chat rules need to know of a stream's moderation (ChatModeration provides it). */
export interface ChatRulesState {
  /** End of a ban or timeout in ms (Infinity when permanent), or null. */
  bannedUntil(streamId: string, userId: string): Promise<number | null>;
  settings(streamId: string): Promise<ChatSettings>;
  isBlockedText(streamId: string, text: string): Promise<boolean>;
}

export interface ChatLimits {
  /** Chat messages per user per stream per window. */
  chatPerWindow: number;
  chatWindowMs: number;
}

export const DEFAULT_CHAT_LIMITS: ChatLimits = { chatPerWindow: 5, chatWindowMs: 10_000 };

export interface ChatServiceDeps {
  bus: Bus;
  moderation: ChatRulesState;
  limiter: RateLimiter;
  history: ChatHistory;
  limits?: Partial<ChatLimits>;
}

// C0 controls but tab, newline and carriage return, and DEL.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

const refusal = (code: ChatRefusalCode, message: string, retryAfterMs = 0): ChatRefusal => ({ ok: false, code, message, retryAfterMs });

export class ChatService {
  readonly limits: ChatLimits;

  constructor(private readonly deps: ChatServiceDeps) {
    this.limits = { ...DEFAULT_CHAT_LIMITS, ...deps.limits };
  }

  /**
   * Checks a message against every rule. `exempt` (owner, moderators, admins) skips slow mode.
   * Admitting does not send: `send` does both.
   */
  async admit(streamId: string, user: AuthUser | null, rawText: string, { exempt }: { exempt: boolean }): Promise<ChatDecision> {
    if (!user) return refusal('not_signed_in', 'sign in to chat');
    const text = rawText.trim();
    if (text.length === 0) return refusal('empty_message', 'say something');
    if ([...text].length > MAX_CHAT_CHARS) return refusal('too_long', `a message is at most ${MAX_CHAT_CHARS} characters`);
    if (CONTROL.test(text)) return refusal('bad_frame', 'control characters are not allowed');
    const banned = await this.banRefusal(streamId, user.id);
    if (banned) return banned;
    if (this.deps.bus.status !== 'connected') return refusal('chat_reconnecting', 'chat is reconnecting; try again in a moment', 1000);
    const settings = await this.deps.moderation.settings(streamId);
    if (settings.slowModeSeconds > 0 && !exempt) {
      const slow = await this.deps.limiter.hit(`slow:${streamId}:${user.id}`, 1, settings.slowModeSeconds * 1000);
      if (!slow.allowed) return refusal('slow_mode', `slow mode: one message every ${settings.slowModeSeconds} s`, slow.retryAfterMs);
    }
    const rate = await this.deps.limiter.hit(`chat:${streamId}:${user.id}`, this.limits.chatPerWindow, this.limits.chatWindowMs);
    if (!rate.allowed) return refusal('rate_limited', 'you are sending messages too fast', rate.retryAfterMs);
    if (await this.deps.moderation.isBlockedText(streamId, text)) return refusal('blocked_term', 'that message contains a blocked word');
    return { ok: true, message: { id: newMessageId(), userId: user.id, username: user.username, text, sentAtMs: Date.now() } };
  }

  /**
   * Whether the user may react in the stream: anyone may, but a user banned or timed out from its
   * chat may not (their reactions would still move the on-screen counts). null when allowed.
   */
  async reactionRefusal(streamId: string, user: AuthUser | null): Promise<ChatRefusal | null> {
    return user ? this.banRefusal(streamId, user.id) : null;
  }

  private async banRefusal(streamId: string, userId: string): Promise<ChatRefusal | null> {
    const bannedUntil = await this.deps.moderation.bannedUntil(streamId, userId);
    if (bannedUntil === null) return null;
    return bannedUntil === Infinity
      ? refusal('banned', 'you are banned from this chat')
      : refusal('banned', 'you are timed out', bannedUntil - Date.now());
  }

  /** Messages a viewer may be shown from the history (to a joiner, or a page of it): none from a user banned or timed out now. */
  async shownHistory<M extends { userId?: string | null }>(streamId: string, messages: M[]): Promise<M[]> {
    const banned = new Set<string>();
    for (const userId of new Set(messages.map((m) => m.userId ?? ''))) {
      if (userId && (await this.deps.moderation.bannedUntil(streamId, userId)) !== null) banned.add(userId);
    }
    return banned.size === 0 ? messages : messages.filter((m) => !banned.has(m.userId ?? ''));
  }

  /** Admits the message, then publishes it to every node's viewers and appends it to the history. */
  async send(streamId: string, user: AuthUser | null, rawText: string, options: { exempt: boolean }): Promise<ChatDecision> {
    const decision = await this.admit(streamId, user, rawText, options);
    if (!decision.ok) return decision;
    const m = decision.message;
    streamTopics.chat.publish(this.deps.bus, streamId, m);
    this.deps.history.append({ id: m.id, streamId, userId: m.userId, username: m.username, text: m.text, sentAtMs: m.sentAtMs });
    return decision;
  }
}

/** Time-ordered, unguessable: 9 base36 chars of milliseconds, then 8 random base64url chars. */
function newMessageId(): string {
  return Date.now().toString(36).padStart(9, '0') + randomBytes(6).toString('base64url');
}
