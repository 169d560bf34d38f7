// The real-time channel of one stream (chat, reactions, tips, viewer counts, moderation, status) over
// the WebSocket at /ws/{streamId}, with reconnect and resume: when the socket drops, it reconnects
// with backoff, and the chat history the server sends on every (re)connect is merged with what the
// caller already saw, so messages missed during the gap are delivered once and nothing twice. The
// Channel owns its socket and timers; close() releases them.
import {
  decodeServerFrame,
  encodeClientFrame,
  type ChannelErrorFrame,
  type ChatBatch,
  type ChatMessage,
  type ClientFrameBody,
  type ModerationEvent,
  type ReactionAggregate,
  type ServerFrame,
  type StreamStatus,
  type TipEvent,
} from './channel-codec.js';
import { Listeners } from './listeners.js';

/** The subset of the WebSocket API the channel uses (the browser's, or `ws` in Node). */
export interface ChannelSocket {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string, protocols: string[]) => ChannelSocket;

export interface ChannelOptions {
  /** The node's origin, e.g. `location.origin` (http(s) becomes ws(s)). */
  baseUrl: string;
  streamId: string;
  /** A user token to write (chat, reactions); anonymous clients read only. May be changed with setToken(). */
  token?: string;
  /** First reconnect delay; doubles up to `maxRetryDelayMs`. Default 500. */
  retryDelayMs?: number;
  /** Default 10000. */
  maxRetryDelayMs?: number;
  /** A ping every this often keeps idle proxies from closing the socket. Default 25000; 0 disables. */
  pingIntervalMs?: number;
  /** How sockets are made; defaults to the global WebSocket. */
  socket?: SocketFactory;
}

export type ChannelState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ChannelEvents {
  /** New chat messages (never one already delivered); `history` for the backlog on first join. */
  chat: (messages: ChatMessage[], info: { sampled: boolean; history: boolean }) => void;
  reactions: (aggregate: ReactionAggregate) => void;
  tip: (tip: TipEvent) => void;
  viewers: (count: number) => void;
  moderation: (event: ModerationEvent) => void;
  status: (status: StreamStatus) => void;
  /** A frame the server refused (`seq` says which). */
  error: (error: ChannelErrorFrame) => void;
  state: (state: ChannelState, detail?: string) => void;
}

export interface Channel {
  readonly state: ChannelState;
  /** The last status frame, if any. */
  readonly status: StreamStatus | undefined;
  readonly viewers: number | undefined;
  /** Times the socket was reopened after a drop. */
  readonly reconnects: number;
  on<K extends keyof ChannelEvents>(event: K, listener: ChannelEvents[K]): () => void;
  /** Sends a chat message; returns its seq (echoed in an error frame if refused), or 0 if not open. */
  chat(text: string): number;
  react(emoji: string): number;
  /** Reconnects with another token (e.g. after signing in). */
  setToken(token: string | undefined): void;
  close(): void;
}

/** The emoji the server accepts as reactions (docs/api.md). */
export const REACTIONS = ['❤️', '😂', '🔥', '👏', '😮', '😢', '🎉', '👍', '💯', '🚀'] as const;

const SUBPROTOCOL = 'onair.channel.v1';
const SEEN_LIMIT = 2000;

/** Opens the channel of a stream; it connects in the background (watch `state`). */
export function channel(opts: ChannelOptions): Channel {
  return new StreamChannelClient(opts);
}

class StreamChannelClient implements Channel {
  state: ChannelState = 'connecting';
  status: StreamStatus | undefined;
  viewers: number | undefined;
  reconnects = 0;
  private ws: ChannelSocket | undefined;
  private token: string | undefined;
  private seq = 0;
  private attempt = 0;
  private opened = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Ids of delivered chat messages, oldest first (bounded). */
  private readonly seen = new Set<string>();
  private readonly listeners: { [K in keyof ChannelEvents]: Listeners<Parameters<ChannelEvents[K]>> } = {
    chat: new Listeners(),
    reactions: new Listeners(),
    tip: new Listeners(),
    viewers: new Listeners(),
    moderation: new Listeners(),
    status: new Listeners(),
    error: new Listeners(),
    state: new Listeners(),
  };

  constructor(private readonly opts: ChannelOptions) {
    this.token = opts.token;
    this.connect();
  }

  on<K extends keyof ChannelEvents>(event: K, listener: ChannelEvents[K]): () => void {
    return (this.listeners[event] as Listeners<unknown[]>).add(listener as (...args: unknown[]) => void);
  }

  chat(text: string): number {
    return this.send({ chat: { text } });
  }

  react(emoji: string): number {
    return this.send({ reaction: { emoji } });
  }

  setToken(token: string | undefined): void {
    if (token === this.token) return;
    this.token = token;
    if (this.state === 'closed') return;
    this.drop();
    this.connect();
  }

  close(): void {
    if (this.state === 'closed') return;
    this.drop();
    this.setState('closed');
    for (const l of Object.values(this.listeners)) l.clear();
  }

  private send(body: ClientFrameBody): number {
    const ws = this.ws;
    if (!ws || this.state !== 'open' || ws.readyState !== 1) return 0;
    const seq = ++this.seq;
    ws.send(encodeClientFrame({ seq, ...body }));
    return seq;
  }

  private url(): string {
    const base = this.opts.baseUrl.replace(/\/+$/, '').replace(/^http/, 'ws');
    return `${base}/ws/${encodeURIComponent(this.opts.streamId)}`;
  }

  private connect(): void {
    const make: SocketFactory = this.opts.socket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as ChannelSocket);
    let ws: ChannelSocket;
    try {
      ws = make(this.url(), this.token ? [SUBPROTOCOL, this.token] : []);
    } catch (err) {
      this.scheduleReconnect(String(err));
      return;
    }
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      if (this.opened) this.reconnects++;
      this.opened = true;
      this.setState('open');
      const every = this.opts.pingIntervalMs ?? 25_000;
      if (every > 0) this.pingTimer = setInterval(() => this.send({ ping: {} }), every);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      const data = ev.data;
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : undefined;
      if (!bytes) return; // text frames are not part of the protocol
      let frame: ServerFrame;
      try {
        frame = decodeServerFrame(bytes);
      } catch {
        return;
      }
      this.dispatch(frame);
    };
    ws.onerror = () => {}; // a close event follows
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearInterval(this.pingTimer);
      // 1008 (policy: flooding) and 1003 (text frame) would repeat; anything else is worth a retry.
      if (ev.code === 1008 || ev.code === 1003) {
        this.setState('closed', `closed by the server (${ev.code})`);
        return;
      }
      this.scheduleReconnect(`socket closed (${ev.code})`);
    };
  }

  private scheduleReconnect(detail: string): void {
    if (this.state === 'closed') return;
    this.setState('reconnecting', detail);
    const base = this.opts.retryDelayMs ?? 500;
    const delay = Math.min(base * 2 ** this.attempt, this.opts.maxRetryDelayMs ?? 10_000);
    this.attempt++;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private drop(): void {
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
  }

  private dispatch(frame: ServerFrame): void {
    const l = this.listeners;
    switch (frame.kind) {
      case 'chat':
        return this.deliverChat(frame.chat);
      case 'reactions':
        return l.reactions.emit(frame.reactions);
      case 'tip':
        return l.tip.emit(frame.tip);
      case 'viewers':
        this.viewers = frame.viewers.count;
        return l.viewers.emit(frame.viewers.count);
      case 'moderation':
        return l.moderation.emit(frame.moderation);
      case 'status':
        this.status = frame.status;
        return l.status.emit(frame.status);
      case 'error':
        return l.error.emit(frame.error);
      default:
        return;
    }
  }

  /** Resume: the history sent on a reconnect overlaps what was delivered; pass on only the new part. */
  private deliverChat(batch: ChatBatch): void {
    const fresh = batch.messages.filter((m) => !this.seen.has(m.id));
    if (!fresh.length) return;
    for (const m of fresh) this.seen.add(m.id);
    while (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value as string);
    // History on a reconnect is, to the caller, simply the messages it missed.
    const history = batch.history && this.reconnects === 0 && !this.deliveredLive;
    if (!batch.history) this.deliveredLive = true;
    this.listeners.chat.emit(fresh, { sampled: batch.sampled, history });
  }

  private deliveredLive = false;

  private setState(state: ChannelState, detail?: string): void {
    if (this.state === state && state !== 'reconnecting') return;
    this.state = state;
    this.listeners.state.emit(state, detail);
  }
}
