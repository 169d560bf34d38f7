// The WebSocket gateway at /ws/{streamId}: authenticates the upgrade (JWT in Sec-WebSocket-Protocol
// or ?token=; anonymous viewers may read), keeps one StreamChannel per watched stream on this node,
// and hands what signed-in users send to the chat service (identity from the token, never from the
// frame), mapping its refusals to `error` frames. Holds no chat rule itself. Binary protobuf frames
// only. Owns its WebSocketServer, channels and timers; `close()` releases them all. Never crashes on
// client input: bad frames get an `error` frame.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  ANY_KEY,
  isAppError,
  isSubjectToken,
  streamTopics,
  type Accounts,
  type Audience,
  type AuthUser,
  type Bus,
  type BusSubscription,
  type ChatHistory,
  type ChatModeration,
  type ChatService,
  type Logger,
  type ModerationNotice,
  type StreamCatalog,
} from '@onair/platform';
import { decodeClientFrame, encodeServerFrame, errorFrame, MAX_CLIENT_FRAME_BYTES, type ChatMessageProps } from './frames.js';
import { FrameWriter, type Viewer } from './frame-writer.js';
import { DEFAULT_CHANNEL_OPTIONS, RECENT_DELIVERED, StreamChannel, type ChannelOptions } from './stream-channel.js';
import { isAllowedReaction } from './reactions.js';

export const CHANNEL_SUBPROTOCOL = 'onair.channel.v1';
export const HISTORY_ON_JOIN = RECENT_DELIVERED;

export interface GatewayLimits {
  /** Reactions per user (or anonymous connection) per second. */
  reactionsPerSecond: number;
  /** Open sockets per client address on this node (0: no limit); beyond it the upgrade gets 429. */
  connectionsPerAddress: number;
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = { reactionsPerSecond: 20, connectionsPerAddress: 1000 };

export interface GatewayDeps {
  accounts: Accounts;
  streams: StreamCatalog;
  bus: Bus;
  chat: ChatService;
  history: ChatHistory;
  moderation: ChatModeration;
  /** The node's viewer counts: each channel shows its stream's total. */
  audience: Audience;
  log: Logger;
  isLive: (streamId: string) => boolean;
  channel?: Partial<ChannelOptions>;
  limits?: Partial<GatewayLimits>;
  /** The client's address behind trusted proxies (default: the socket's). */
  addressOf?: (req: IncomingMessage) => string;
}

/** Inbound frames per connection: a bucket of FLOOD_BURST frames refilled at FLOOD_PER_SECOND. */
const FLOOD_BURST = 500;
const FLOOD_PER_SECOND = 50;

/** How often the gateway checks that its signed-in connections' sessions were not revoked. */
export const SESSION_SWEEP_MS = 5_000;
/** The close code of a socket whose session ended: its token expired (reason `token_expired`) or was revoked (`session_revoked`). */
export const CLOSE_SESSION_ENDED = 4001;

interface Connection extends Viewer {
  channel: StreamChannel;
  /** The token's session (signed-in connections): closed at its expiry or when it is revoked. */
  session: { version: number; expiresAtMs: number } | undefined;
  inboundTokens: number;
  inboundAtMs: number;
  reactionWindowEnds: number;
  reactions: number;
}

export class ChannelGateway {
  /** Every channel's socket writes (its stats: frames sent and dropped, slow clients disconnected, chat batches). */
  readonly writer: FrameWriter;
  /** Clients closed for flooding inbound frames. */
  floodCloses = 0;
  /** Reactions counted into the aggregates, and refused by the per-connection limit. */
  reactionsAccepted = 0;
  reactionsRefused = 0;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly channels = new Map<string, StreamChannel>();
  private readonly opening = new Map<string, Promise<StreamChannel>>();
  private readonly options: ChannelOptions;
  private readonly limits: GatewayLimits;
  private readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Whatever a stranger sends, the upgrade ends in a refusal, never in an unhandled rejection.
    this.upgrade(req, socket, head).catch((err: unknown) => {
      this.deps.log.error({ err, url: req.url?.slice(0, 200) }, 'channel upgrade failed');
      if (!socket.destroyed) refuse(socket, 400, 'bad_request');
    });
  };
  private readonly onNotice = (n: ModerationNotice) => this.moderationNotice(n);
  private readonly onBusStatus = () => this.broadcastStatus();
  private server: Server | undefined;
  private closed = false;
  private readonly statusSub: BusSubscription;
  private readonly socketsByAddress = new Map<string, number>();
  private readonly sessionSweep: NodeJS.Timeout;
  private sweeping = false;

  constructor(private readonly deps: GatewayDeps) {
    this.options = { ...DEFAULT_CHANNEL_OPTIONS, ...deps.channel };
    this.limits = { ...DEFAULT_GATEWAY_LIMITS, ...deps.limits };
    this.writer = new FrameWriter(this.options, deps.log);
    deps.moderation.on('notice', this.onNotice);
    deps.bus.on('status', this.onBusStatus);
    // Live/offline comes from whichever node has the publisher.
    this.statusSub = streamTopics.status.subscribe(deps.bus, ANY_KEY, (s, streamId) => this.applyStreamStatus(streamId, s.live), {
      log: deps.log,
    });
    this.sessionSweep = setInterval(() => void this.closeRevokedSessions(), SESSION_SWEEP_MS);
    this.sessionSweep.unref();
  }

  /** Closes the sockets of sessions revoked since they connected (sign-out everywhere, password change, deleted account). */
  private async closeRevokedSessions(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const signedIn: Connection[] = [];
      for (const c of this.channels.values())
        for (const v of c.viewers) if ((v as Connection).session && v.user) signedIn.push(v as Connection);
      if (signedIn.length === 0) return;
      const revoked = await this.deps.accounts.revokedAmong(signedIn.map((c) => ({ userId: c.user!.id, version: c.session!.version })));
      for (const c of signedIn) if (revoked.has(c.user!.id)) c.ws.close(CLOSE_SESSION_ENDED, 'session_revoked');
    } catch (err) {
      this.deps.log.warn({ err }, 'checking channel sessions failed; trying again at the next sweep');
    } finally {
      this.sweeping = false;
    }
  }

  attach(server: Server): void {
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  /** The stream's channel on this node, if anyone here watches it. */
  channel(streamId: string): StreamChannel | undefined {
    return this.channels.get(streamId);
  }

  get channelCount(): number {
    return this.channels.size;
  }

  get connectionCount(): number {
    let n = 0;
    for (const c of this.channels.values()) n += c.viewers.size;
    return n;
  }

  // ---- upgrade and authentication ---------------------------------------------------------------

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    const match = /^\/ws\/([^/]+)$/.exec(url.pathname);
    if (!match || this.closed) return refuse(socket, 404, 'not_found');
    const streamId = safeDecode(match[1]!);
    if (streamId === null) return refuse(socket, 400, 'bad_request');
    const address = this.deps.addressOf?.(req) ?? req.socket.remoteAddress ?? '';
    const perAddress = this.limits.connectionsPerAddress;
    if (perAddress > 0 && (this.socketsByAddress.get(address) ?? 0) >= perAddress) {
      return refuse(socket, 429, 'too_many_connections');
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const token = offered.find((p) => p !== CHANNEL_SUBPROTOCOL && p.split('.').length === 3) ?? url.searchParams.get('token') ?? undefined;
    let user: AuthUser | null = null;
    let session: Connection['session'];
    try {
      if (token) {
        const verified = await this.deps.accounts.verifySession(token);
        user = verified.user;
        session = { version: verified.version, expiresAtMs: verified.expiresAtMs };
      }
      if (!isSubjectToken(streamId) || !(await this.deps.streams.get(streamId))) return refuse(socket, 404, 'stream_not_found');
    } catch (err) {
      if (isAppError(err)) return refuse(socket, err.status, err.code);
      this.deps.log.error({ err, streamId }, 'channel upgrade failed');
      return refuse(socket, 503, 'unavailable');
    }
    const moderator = user ? await this.deps.moderation.canModerate(streamId, user).catch(() => false) : false;
    let channel: StreamChannel;
    try {
      channel = await this.openChannel(streamId);
    } catch (err) {
      this.deps.log.error({ err, streamId }, 'could not open the channel');
      return refuse(socket, 503, 'unavailable');
    }
    // Browsers need one offered protocol selected: ours when offered, else the first (the token).
    this.wss.options.handleProtocols = (protocols) =>
      protocols.has(CHANNEL_SUBPROTOCOL) ? CHANNEL_SUBPROTOCOL : (protocols.values().next().value ?? false);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      // Counted from the handshake to the close, whichever channel the socket ends up in.
      this.socketsByAddress.set(address, (this.socketsByAddress.get(address) ?? 0) + 1);
      ws.once('close', () => {
        const n = (this.socketsByAddress.get(address) ?? 1) - 1;
        if (n > 0) this.socketsByAddress.set(address, n);
        else this.socketsByAddress.delete(address);
      });
      this.connected(ws, channel, user, moderator, session);
    });
  }

  private async openChannel(streamId: string): Promise<StreamChannel> {
    const existing = this.channels.get(streamId);
    if (existing) return existing;
    let opening = this.opening.get(streamId);
    if (!opening) {
      opening = (async () => {
        const view = await this.deps.moderation.view(streamId);
        const channel = new StreamChannel({
          streamId,
          bus: this.deps.bus,
          moderation: view,
          options: this.options,
          writer: this.writer,
          audience: this.deps.audience,
          log: this.deps.log,
        });
        channel.live = this.deps.isLive(streamId) || ((await this.deps.streams.get(streamId))?.live ?? false);
        this.channels.set(streamId, channel);
        return channel;
      })().finally(() => this.opening.delete(streamId));
      this.opening.set(streamId, opening);
    }
    return opening;
  }

  private connected(
    ws: WebSocket,
    channel: StreamChannel,
    user: AuthUser | null,
    moderator: boolean,
    session: Connection['session'] = undefined,
  ): void {
    if (channel.isClosed) {
      // The last viewer left while this one was upgrading: open the channel again.
      if (this.closed) return void ws.close(1001, 'shutting down');
      this.openChannel(channel.streamId).then(
        (c) => this.connected(ws, c, user, moderator, session),
        () => ws.close(1011, 'channel unavailable'),
      );
      return;
    }
    const conn: Connection = {
      ws,
      user,
      moderator,
      channel,
      slowSince: 0,
      droppedFrames: 0,
      reactionWindowEnds: 0,
      reactions: 0,
      inboundTokens: FLOOD_BURST,
      inboundAtMs: Date.now(),
      session,
    };
    channel.viewers.add(conn);
    // A socket does not outlive its token: closed when it expires (the client signs in again).
    const expiry = session
      ? setTimeout(
          () => ws.close(CLOSE_SESSION_ENDED, 'token_expired'),
          Math.max(0, Math.min(session.expiresAtMs - Date.now(), 2 ** 31 - 1)),
        )
      : undefined;
    expiry?.unref();
    ws.on('close', () => clearTimeout(expiry));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => void this.onMessage(conn, data, isBinary));
    ws.on('close', () => {
      channel.viewers.delete(conn);
      if (channel.viewers.size === 0 && this.channels.get(channel.streamId) === channel) {
        this.channels.delete(channel.streamId);
        channel.close();
        this.deps.moderation.forget(channel.streamId);
      }
    });
    // The chat mode in force (slow mode) comes with the first status frame a joiner gets.
    void this.deps.moderation.settings(channel.streamId).then(
      (settings) => channel.send(conn, this.statusFrame(channel, settings.slowModeSeconds)),
      () => channel.send(conn, this.statusFrame(channel)),
    );
    // Taken now: what is delivered from here on reaches this viewer live.
    void this.sendHistory(conn, channel.recentlyDelivered());
  }

  /** The stored history merged with what this channel delivered but may not be stored yet, by id. */
  private async sendHistory(conn: Connection, delivered: ChatMessageProps[]): Promise<void> {
    try {
      const stored = await this.deps.history.recent(conn.channel.streamId, { limit: HISTORY_ON_JOIN });
      const byId = new Map<string, ChatMessageProps>();
      for (const m of stored) byId.set(m.id, { id: m.id, userId: m.userId, username: m.username, text: m.text, sentAtMs: m.sentAtMs });
      for (const m of delivered) if (!byId.has(m.id ?? '')) byId.set(m.id ?? '', m);
      if (byId.size === 0) return;
      const shown = await this.deps.chat.shownHistory(conn.channel.streamId, [...byId.values()]);
      if (shown.length === 0) return;
      const messages = shown
        .sort((a, b) => Number(a.sentAtMs) - Number(b.sentAtMs) || String(a.id).localeCompare(String(b.id)))
        .slice(-HISTORY_ON_JOIN);
      conn.channel.send(conn, encodeServerFrame({ chat: { messages, sampled: false, history: true } }));
    } catch (err) {
      this.deps.log.warn({ err, streamId: conn.channel.streamId }, 'chat history for a late joiner failed');
    }
  }

  // ---- inbound frames ---------------------------------------------------------------------------

  private async onMessage(conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
    if (!isBinary) {
      conn.ws.close(1003, 'binary frames only');
      return;
    }
    const now = Date.now();
    conn.inboundTokens = Math.min(FLOOD_BURST, conn.inboundTokens + ((now - conn.inboundAtMs) * FLOOD_PER_SECOND) / 1000);
    conn.inboundAtMs = now;
    if (--conn.inboundTokens < 0) {
      if (conn.ws.readyState === conn.ws.OPEN) {
        this.floodCloses++;
        this.deps.log.info({ streamId: conn.channel.streamId, userId: conn.user?.id }, 'closing a flooding channel client');
        conn.ws.close(1008, 'too many frames');
      }
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const decoded = decodeClientFrame(bytes);
    if (!decoded.ok) return conn.channel.send(conn, errorFrame('bad_frame', decoded.message));
    const frame = decoded.frame;
    const seq = frame.seq ?? 0;
    try {
      if (frame.body === 'ping') conn.channel.send(conn, encodeServerFrame({ pong: {} }));
      else if (frame.body === 'reaction') await this.reaction(conn, frame.reaction?.emoji ?? '', seq);
      else if (frame.body === 'chat') await this.chat(conn, frame.chat?.text ?? '', seq);
    } catch (err) {
      this.deps.log.error({ err, streamId: conn.channel.streamId, userId: conn.user?.id }, 'channel frame failed');
      conn.channel.send(conn, errorFrame('internal', 'something went wrong; try again', seq));
    }
  }

  private async reaction(conn: Connection, emoji: string, seq: number): Promise<void> {
    if (!isAllowedReaction(emoji)) return conn.channel.send(conn, errorFrame('unknown_emoji', 'that reaction is not offered', seq));
    const now = Date.now();
    if (now >= conn.reactionWindowEnds) {
      conn.reactionWindowEnds = now + 1000;
      conn.reactions = 0;
    }
    if (++conn.reactions > this.limits.reactionsPerSecond) {
      this.reactionsRefused++;
      if (conn.reactions === this.limits.reactionsPerSecond + 1)
        conn.channel.send(conn, errorFrame('rate_limited', 'too many reactions', seq, conn.reactionWindowEnds - now));
      return;
    }
    const refused = await this.deps.chat.reactionRefusal(conn.channel.streamId, conn.user);
    if (refused) {
      this.reactionsRefused++;
      return conn.channel.send(conn, errorFrame(refused.code, refused.message, seq, refused.retryAfterMs));
    }
    this.reactionsAccepted++;
    conn.channel.addReaction(emoji);
  }

  private async chat(conn: Connection, text: string, seq: number): Promise<void> {
    const decision = await this.deps.chat.send(conn.channel.streamId, conn.user, text, { exempt: conn.moderator });
    if (!decision.ok) conn.channel.send(conn, errorFrame(decision.code, decision.message, seq, decision.retryAfterMs));
  }

  // ---- notices to every viewer ------------------------------------------------------------------

  private moderationNotice(n: ModerationNotice): void {
    const channel = this.channels.get(n.streamId);
    if (!channel) return;
    if (n.kind === 'delete') {
      channel.forgetDelivered(n.messageId);
      channel.broadcast(encodeServerFrame({ moderation: { deletedMessageId: n.messageId } }));
    } else if (n.kind === 'ban')
      channel.broadcast(encodeServerFrame({ moderation: { bannedUserId: n.userId, bannedUntilMs: n.untilMs ?? 0 } }));
    else if (n.kind === 'unban') channel.broadcast(encodeServerFrame({ moderation: { unbannedUserId: n.userId } }));
    else if (n.kind === 'settings') void this.sendStatus(channel);
    else if (n.kind === 'moderator') void this.applyRole(channel, n.userId);
  }

  /**
   * The owner granted or revoked a moderator: that user's sessions here take the role now (full chat,
   * no slow mode), without reconnecting. Asks the catalog, so an owner or admin stays a moderator.
   */
  private async applyRole(channel: StreamChannel, userId: string): Promise<void> {
    const sessions = [...channel.viewers].filter((v) => v.user?.id === userId);
    if (sessions.length === 0) return;
    const moderator = await this.deps.moderation.canModerate(channel.streamId, sessions[0]!.user!).catch((err: unknown) => {
      this.deps.log.warn({ err, streamId: channel.streamId, userId }, 'moderator role check failed');
      return null;
    });
    if (moderator === null) return;
    for (const v of sessions) v.moderator = moderator;
  }

  private statusFrame(channel: StreamChannel, slowModeSeconds = 0): Uint8Array {
    return encodeServerFrame({ status: { live: channel.live, chatReconnecting: this.deps.bus.status !== 'connected', slowModeSeconds } });
  }

  private async sendStatus(channel: StreamChannel): Promise<void> {
    const settings = await this.deps.moderation.settings(channel.streamId).catch(() => ({ slowModeSeconds: 0 }));
    channel.broadcast(this.statusFrame(channel, settings.slowModeSeconds));
  }

  private broadcastStatus(): void {
    for (const c of this.channels.values()) void this.sendStatus(c);
  }

  /** The media plane says a stream went live or offline on this node: tell every node. */
  streamStatus(streamId: string, live: boolean): void {
    if (!isSubjectToken(streamId)) return;
    streamTopics.status.publish(this.deps.bus, streamId, { live });
    if (this.deps.bus.status !== 'connected') this.applyStreamStatus(streamId, live);
  }

  private applyStreamStatus(streamId: string, live: boolean): void {
    const channel = this.channels.get(streamId);
    if (!channel) return;
    channel.live = live;
    void this.sendStatus(channel);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sessionSweep);
    this.server?.off('upgrade', this.onUpgrade);
    this.deps.moderation.off('notice', this.onNotice);
    this.deps.bus.off('status', this.onBusStatus);
    this.statusSub.unsubscribe();
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** A percent-decoded path segment, or null when its escapes are malformed (`%`, `%zz`, bad UTF-8). */
function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function refuse(socket: Duplex, status: number, code: string): void {
  const body = JSON.stringify({ error: { code, message: code.replace(/_/g, ' ') } });
  const retry = status === 429 ? 'Retry-After: 5\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Service Unavailable'}\r\nContent-Type: application/json\r\n${retry}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
};
