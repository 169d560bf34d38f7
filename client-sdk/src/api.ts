// A typed client for OnAir's HTTP API (accounts, the stream directory, moderation, chat history,
// wallet and tips), as in CONTRACT.md and docs/api.md. Every
// call is one fetch; failures reject with an OnAirError carrying the server's error code. Holds no
// state beyond the base URL and the token it was made with.
import { errorFromResponse, request } from './errors.js';

export interface User {
  id: string;
  username: string;
}

export interface AuthSession {
  user: User;
  /** Short-lived JWT for `Authorization: Bearer`. */
  token: string;
}

export interface Playback {
  whep: string;
  hls: string;
  dash: string;
}

export interface StreamInput {
  title: string;
  tags?: string[];
  category?: string;
  language?: string;
}

/** A stream as the directory shows it to anyone. */
export interface Stream {
  id: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  viewerCount: number;
  live: boolean;
  startedAt: string | null;
  /** When it last went offline (null while live or if it never was). */
  endedAt?: string | null;
  playback: Playback;
  ownerId?: string;
  ownerName?: string;
}

/**
 * Where an encoder publishes a stream: the WHIP URL (the key as Bearer token), the RTMP server URL
 * (the key as stream name) and the SRT URL (the key in `streamid`); `rtmp`/`srt` are null when the
 * node does not listen for that protocol.
 */
export interface IngestUrls {
  whip: string;
  rtmp: string | null;
  srt: string | null;
}

/** One of the signed-in user's streams (GET /api/me/streams): its settings and ingest URLs, never its key. */
export interface ChannelStream extends Stream {
  ownerId: string;
  createdAt: string;
  /**
   * Why the last broadcast ended, as the media plane's reason code (e.g. `publisher_unpublished`,
   * `publisher_timeout`, `unsupported_codec` when the encoder sent HEVC or AV1); null while live or
   * before any broadcast.
   */
  endedReason: string | null;
  ingest: IngestUrls;
}

// The server declares these wire shapes once (platform/src/streams/activity-wire.ts, no imports);
// a type-only re-export, so nothing of the server reaches the browser bundle.
import type { ActivityEvent, ChatBan } from '@onair/platform/wire';

export type { ActivityEvent, ChatBan };

/** A stream as its owner sees it right after creating it: with the stream key and the ingest URL. */
export interface OwnedStream {
  id: string;
  title: string;
  tags: string[];
  category: string;
  language: string;
  ownerId: string;
  live: boolean;
  streamKey: string;
  ingest: IngestUrls;
}

export interface StreamQuery {
  live?: boolean;
  q?: string;
  tag?: string;
  category?: string;
  language?: string;
  sort?: 'viewers' | 'recent';
  limit?: number;
  cursor?: string;
}

export interface Moderator {
  userId: string;
  username: string;
}

export interface ChatHistoryPage {
  items: Array<{ id: string; userId: string; username: string; text: string; sentAtMs: number }>;
  nextBefore: number | null;
}

export interface ChatSettings {
  slowModeSeconds: number;
  blockedTerms: string[];
}

/** What anyone may read of a stream's chat settings (GET chat-settings without moderation rights). */
export interface ChatMode {
  slowModeSeconds: number;
}

export interface Wallet {
  /** Spendable on tips, in minor units. */
  balance: number;
  currency: string;
  /** Received as tips (minus the fee), in minor units. */
  earnings: number;
  topups: { provider: 'stripe' | 'development' | 'unavailable' };
}

/** `provider: 'development'` credited test funds at once; `stripe` needs the clientSecret confirmed with Stripe.js. */
export type TopUp =
  | { provider: 'development'; testFunds: true; notice: string; amount: number; currency: string; status: 'credited'; balance: number }
  | { provider: 'stripe'; paymentIntentId: string; clientSecret: string; amount: number; currency: string; status: 'pending' };

export interface Tip {
  id: string;
  streamId: string;
  fromUserId: string;
  fromUsername: string;
  toUserId: string;
  amount: number;
  fee: number;
  currency: string;
  message: string | null;
  createdAt: string;
}

export interface TipInput {
  /** Minor units. */
  amount: number;
  message?: string;
  /** Reuse the same key to retry a tip safely; a fresh random one by default. */
  idempotencyKey?: string;
}

export interface StreamPage {
  items: Stream[];
  nextCursor: string | null;
}

/** A recorded broadcast (past broadcast, or the one being recorded): docs/api.md "Recordings and clips". */
export interface Broadcast {
  id: string;
  streamId: string;
  title: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number;
  status: 'recording' | 'complete' | 'partial';
  /** Why recording stopped early (disk full, ...), when it did. */
  stopReason?: string;
  /** `dvr`/`dvrDash`: live rewind (HLS playlist, DASH MPD), only while recording. */
  playback: { hls: string; dash: string; dvr?: string; dvrDash?: string };
}

/** A clip of a live stream or a past broadcast, with its page and MP4. */
export interface Clip {
  id: string;
  streamId: string;
  broadcastId: string;
  title: string;
  streamer: string;
  clippedBy: string;
  startMs: number;
  durationMs: number;
  createdAt: string;
  url: string;
  mp4: string;
  broadcastUrl: string;
}

/** What a broadcast's chat replay holds, each at its offset from the broadcast's start. */
export type ReplayEvent =
  | { type: 'chat'; offsetMs: number; id: string; username: string; text: string }
  | { type: 'tip'; offsetMs: number; id: string; fromUsername: string; amount: number; currency: string; message: string }
  | { type: 'reactions'; offsetMs: number; counts: Record<string, number> };

export interface OnAirApi {
  readonly baseUrl: string;
  /** The same client, sending `token` from now on. */
  withToken(token: string | undefined): OnAirApi;
  register(username: string, password: string): Promise<AuthSession>;
  login(username: string, password: string): Promise<AuthSession>;
  /** Ends every session of the signed-in user, this one included (their tokens answer 401 session_revoked). */
  logoutAll(): Promise<void>;
  /** Changes the password and ends every other session; returns this client's new session. */
  changePassword(currentPassword: string, newPassword: string): Promise<AuthSession>;
  me(): Promise<User>;
  /** A stream's recorded broadcasts, newest first (404 not_found on a node that does not record). */
  listBroadcasts(streamId: string): Promise<{ items: Broadcast[] }>;
  getBroadcast(id: string): Promise<Broadcast>;
  /** The stream's owner (or an admin) deletes a finished broadcast: gone from disk and listings at once. */
  deleteBroadcast(id: string): Promise<void>;
  /** Chat, tips and reaction bursts of a broadcast between two offsets from its start (ms). */
  broadcastChat(id: string, range: { fromMs: number; toMs: number }): Promise<{ items: ReplayEvent[] }>;
  /** Clips the last `durationSeconds` (5-60) of a live stream (signed in). */
  clipLive(streamId: string, durationSeconds: number): Promise<Clip>;
  /** Clips a range of a broadcast (signed in). */
  clipBroadcast(broadcastId: string, range: { startMs: number; durationMs: number }): Promise<Clip>;
  getClip(id: string): Promise<Clip>;
  listClips(streamId: string): Promise<{ items: Clip[] }>;
  createStream(input: StreamInput): Promise<OwnedStream>;
  getStream(id: string): Promise<Stream>;
  listStreams(query?: StreamQuery): Promise<StreamPage>;
  updateStream(id: string, changes: Partial<StreamInput>): Promise<Stream>;
  rotateStreamKey(id: string): Promise<{ streamKey: string; ingest: IngestUrls }>;
  /** URL of the live stream's newest poster JPEG (404 while offline or before the first picture). */
  thumbnailUrl(id: string): string;
  /** The signed-in user's streams, newest first. */
  myStreams(): Promise<{ items: ChannelStream[] }>;
  moderators(streamId: string): Promise<{ items: Moderator[] }>;
  /** Grants moderation to a user given by id, or by `{ username }`. */
  addModerator(streamId: string, user: string | { username: string }): Promise<Moderator>;
  removeModerator(streamId: string, userId: string): Promise<void>;
  chatHistory(streamId: string, query?: { before?: number; limit?: number }): Promise<ChatHistoryPage>;
  ban(
    streamId: string,
    userId: string,
    opts?: { durationSeconds?: number; reason?: string },
  ): Promise<{ streamId: string; userId: string; until: string | null }>;
  unban(streamId: string, userId: string): Promise<void>;
  deleteMessage(streamId: string, messageId: string): Promise<void>;
  updateChatSettings(streamId: string, settings: Partial<ChatSettings>): Promise<ChatSettings>;
  /** The chat settings in force: all of them for the owner and moderators, the chat mode for anyone else. */
  chatSettings(streamId: string): Promise<ChatSettings | ChatMode>;
  /** Bans and timeouts in force (owner and moderators). */
  bans(streamId: string): Promise<{ items: ChatBan[] }>;
  /** Tips, bans, timeouts and moderators granted, newest first (owner and moderators). */
  activity(streamId: string, query?: { limit?: number }): Promise<{ items: ActivityEvent[] }>;
  wallet(): Promise<Wallet>;
  topUp(amount: number, opts?: { idempotencyKey?: string }): Promise<TopUp>;
  tip(streamId: string, input: TipInput): Promise<{ tip: Tip }>;
  /** Tips received on the caller's streams, newest first. */
  receivedTips(query?: { limit?: number; cursor?: string }): Promise<{ items: Tip[]; nextCursor: string | null }>;
}

/** `baseUrl` is the node's origin (e.g. `location.origin`); `token` is a JWT from register/login. */
export function api(baseUrl: string, token?: string): OnAirApi {
  const base = baseUrl.replace(/\/+$/, '');
  const call = async <T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> => {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(base + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (!res.ok) throw await errorFromResponse(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  };
  const sid = (id: string) => `/api/streams/${encodeURIComponent(id)}`;
  return {
    baseUrl: base,
    withToken: (next) => api(base, next),
    register: (username, password) => call('POST', '/api/auth/register', { username, password }),
    login: (username, password) => call('POST', '/api/auth/login', { username, password }),
    logoutAll: () => call('POST', '/api/auth/logout-all', {}),
    changePassword: (currentPassword, newPassword) => call('POST', '/api/auth/password', { currentPassword, newPassword }),
    me: () => call('GET', '/api/me'),
    listBroadcasts: (streamId) => call('GET', `${sid(streamId)}/broadcasts`),
    getBroadcast: (id) => call('GET', `/api/broadcasts/${encodeURIComponent(id)}`),
    deleteBroadcast: (id) => call('DELETE', `/api/broadcasts/${encodeURIComponent(id)}`),
    broadcastChat: (id, { fromMs, toMs }) => call('GET', `/api/broadcasts/${encodeURIComponent(id)}/chat?fromMs=${fromMs}&toMs=${toMs}`),
    clipLive: (streamId, durationSeconds) => call('POST', `${sid(streamId)}/clips`, { durationSeconds }),
    clipBroadcast: (id, range) => call('POST', `/api/broadcasts/${encodeURIComponent(id)}/clips`, range),
    getClip: (id) => call('GET', `/api/clips/${encodeURIComponent(id)}`),
    listClips: (streamId) => call('GET', `${sid(streamId)}/clips`),
    createStream: (input) => call('POST', '/api/streams', { tags: [], ...input }),
    getStream: (id) => call('GET', `/api/streams/${encodeURIComponent(id)}`),
    listStreams: (query = {}) => call('GET', `/api/streams${queryString(query)}`),
    updateStream: (id, changes) => call('PATCH', sid(id), changes),
    rotateStreamKey: (id) => call('POST', `${sid(id)}/key/rotate`, {}),
    thumbnailUrl: (id) => `${base}${sid(id)}/thumbnail.jpg`,
    moderators: (id) => call('GET', `${sid(id)}/moderators`),
    myStreams: () => call('GET', '/api/me/streams'),
    addModerator: (id, user) =>
      call('POST', `${sid(id)}/moderators`, typeof user === 'string' ? { userId: user } : { username: user.username }),
    removeModerator: (id, userId) => call('DELETE', `${sid(id)}/moderators/${encodeURIComponent(userId)}`),
    chatHistory: (id, query = {}) => call('GET', `${sid(id)}/chat${queryString(query)}`),
    ban: (id, userId, opts = {}) => call('POST', `${sid(id)}/bans`, { userId, ...opts }),
    unban: (id, userId) => call('DELETE', `${sid(id)}/bans/${encodeURIComponent(userId)}`),
    deleteMessage: (id, messageId) => call('DELETE', `${sid(id)}/messages/${encodeURIComponent(messageId)}`),
    updateChatSettings: (id, settings) => call('PATCH', `${sid(id)}/chat-settings`, settings),
    chatSettings: (id) => call('GET', `${sid(id)}/chat-settings`),
    bans: (id) => call('GET', `${sid(id)}/bans`),
    activity: (id, query = {}) => call('GET', `${sid(id)}/activity${queryString(query)}`),
    wallet: () => call('GET', '/api/wallet'),
    topUp: (amount, opts = {}) =>
      call('POST', '/api/wallet/topups', { amount }, opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
    tip: (id, { idempotencyKey, ...body }) =>
      call('POST', `${sid(id)}/tips`, body, { 'idempotency-key': idempotencyKey ?? newIdempotencyKey() }),
    receivedTips: (query = {}) => call('GET', `/api/wallet/tips${queryString(query)}`),
  };
}

/** A fresh random key for one tip (retry a failed tip with the same key). */
export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

function queryString(query: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
