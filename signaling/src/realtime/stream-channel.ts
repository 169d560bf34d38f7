// One stream's real-time channel on this node: its WebSocket viewers, its bus subscriptions, and the
// delivery loop that turns a flood of chat into at most `framesPerSecond` chat frames per viewer,
// each encoded once and written as the same bytes to every socket. Everything meant for every viewer
// (chat batch, reaction aggregate, viewer count, tips, moderation, status) waits for the next
// delivery window and goes out in ONE socket write per viewer per window: several WebSocket frames
// back to back (the protocol is one ServerFrame per WebSocket message; see docs/api.md). Owned by the ChannelGateway;
// closing it unsubscribes, stops its timers and closes its sockets, exactly once.
// Socket writes, and the slow-socket policy, belong to the node's FrameWriter; viewer counts to the
// node's Audience (this channel only shows the total to its viewers).
import { streamTopics, type Audience, type Bus, type BusSubscription, type Logger, type StreamChatStateView } from '@onair/platform';
import { encodeServerFrame, type ChatMessageProps } from './frames.js';
import { frameJoined, type FrameWriter, type Viewer } from './frame-writer.js';

export interface ChannelOptions {
  /** Chat frames per second per viewer at most. */
  framesPerSecond: number;
  /** More messages than this in one window: regular viewers get a fair sample (`sampled`). */
  maxMessagesPerFrame: number;
  /**
   * Sockets written per turn of the event loop. A window's fan-out to 10,000 viewers costs ~90 ms of
   * write(2) calls; done in one go it holds the loop that long, and the node reads its bus socket only
   * between windows: at 20,000 msgs/s that read fell behind (64 KiB per turn) and chat queued for
   * seconds before the gateway even saw it. Between slices the loop reads the bus, HTTP and signaling.
   */
  writeSlice: number;
  /** Reactions are summed over this window (ms) before being sent. */
  reactionWindowMs: number;
  /** Above this many bytes queued on a socket, frames for it are dropped. */
  slowSocketBytes: number;
  /** A socket dropping frames for this long (or queuing 4x slowSocketBytes) is disconnected. */
  slowSocketGraceMs: number;
}

/** Everything a channel is made of (one object: the gateway builds it, the channel owns nothing in it but its subscriptions). */
export interface StreamChannelInit {
  streamId: string;
  bus: Bus;
  /** The stream's bans (for hiding a banned user's messages) and settings, kept current by ChatModeration. */
  moderation: StreamChatStateView;
  options: ChannelOptions;
  writer: FrameWriter;
  audience: Audience;
  log: Logger;
}

export const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  framesPerSecond: 10,
  maxMessagesPerFrame: 25,
  writeSlice: 500,
  reactionWindowMs: 250,
  slowSocketBytes: 256 * 1024,
  slowSocketGraceMs: 5000,
};

/** Chat messages kept for the next frame at most (older ones are dropped first). */
const MAX_PENDING_MESSAGES = 10_000;

/** The last chat messages this channel delivered, kept for joiners (as many as the history on join). */
export const RECENT_DELIVERED = 50;

/** How many tip ids a channel remembers to drop redelivered tip events (the relay retries within seconds). */
const RECENT_TIP_IDS = 1000;

export class StreamChannel {
  readonly viewers = new Set<Viewer>();
  private pending: ChatMessageProps[] = [];
  /**
   * The last RECENT_DELIVERED messages delivered here, oldest first. The stored history is written in
   * batches (every 200 ms, by the node that accepted a message), so a viewer joining just after a
   * message went out would find it neither in the history nor in a later window; joiners get these too.
   */
  private delivered: ChatMessageProps[] = [];
  /** Frames for every viewer, written with the next delivery window's chat (one write per viewer). */
  private outbox: Uint8Array[] = [];
  private reactionsIn = new Map<string, number>();
  private reactionsLocal = new Map<string, number>();
  /**
   * Tip ids already shown. The ledger's outbox relay publishes at least once (a crash between
   * publishing and marking sent repeats a tip); dropping repeats here makes each alert appear once.
   */
  private readonly recentTipIds = new Set<string>();
  private subs: BusSubscription[] = [];
  private readonly unwatchAudience: () => void;
  /** A reaction window shorter than a delivery window would only queue aggregates: never shorter. */
  private readonly reactionWindowMs: number;
  private timers: NodeJS.Timeout[] = [];
  /** The next delivery window (one at a time: a window's slices finish before the next starts). */
  private deliveryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  live = false;

  get isClosed(): boolean {
    return this.closed;
  }

  readonly streamId: string;
  private readonly bus: Bus;
  private readonly moderation: StreamChatStateView;
  private readonly options: ChannelOptions;
  private readonly writer: FrameWriter;
  private readonly log: Logger;

  constructor(init: StreamChannelInit) {
    ({
      streamId: this.streamId,
      bus: this.bus,
      moderation: this.moderation,
      options: this.options,
      writer: this.writer,
      log: this.log,
    } = init);
    const { streamId, bus, log } = init;
    this.reactionWindowMs = Math.max(this.options.reactionWindowMs, windowMs(this.options));
    this.subs.push(
      streamTopics.chat.subscribe(
        bus,
        streamId,
        (m) => {
          if (this.pending.length >= MAX_PENDING_MESSAGES) this.pending.shift();
          this.pending.push(m);
        },
        { log },
      ),
      streamTopics.reactions.subscribe(
        bus,
        streamId,
        (partial) => {
          for (const [emoji, n] of Object.entries(partial.counts)) this.reactionsIn.set(emoji, (this.reactionsIn.get(emoji) ?? 0) + n);
        },
        { log },
      ),
      streamTopics.tip.subscribe(
        bus,
        streamId,
        (tip) => {
          if (this.recentTipIds.has(tip.tipId)) return;
          this.recentTipIds.add(tip.tipId);
          if (this.recentTipIds.size > RECENT_TIP_IDS) this.recentTipIds.delete(this.recentTipIds.values().next().value!);
          this.broadcast(encodeServerFrame({ tip }));
        },
        { log },
      ),
    );
    this.unwatchAudience = init.audience.watch(streamId, (total) => this.broadcast(encodeServerFrame({ viewers: { count: total } })));
    this.scheduleDelivery(Date.now());
    this.timers.push(setInterval(() => this.shareReactions(), this.reactionWindowMs));
  }

  /** The last messages delivered on this channel, oldest first (a copy: later windows do not change it). */
  recentlyDelivered(): ChatMessageProps[] {
    return this.delivered.slice();
  }

  /** A deleted message is no longer handed to joiners. */
  forgetDelivered(messageId: string): void {
    this.delivered = this.delivered.filter((m) => m.id !== messageId);
  }

  // ---- inbound from this node's viewers ---------------------------------------------------------

  addReaction(emoji: string): void {
    this.reactionsLocal.set(emoji, (this.reactionsLocal.get(emoji) ?? 0) + 1);
  }

  // ---- delivery ---------------------------------------------------------------------------------

  /** The next window starts one window after the last one started, or at once when its fan-out took longer. */
  private scheduleDelivery(lastStart: number): void {
    if (this.closed) return;
    this.deliveryTimer = setTimeout(
      () => {
        const start = Date.now();
        try {
          this.deliverChat(() => this.scheduleDelivery(start));
        } catch (err) {
          // A bad window must not end this stream's chat, nor (uncaught) the node and its video.
          this.log.error({ err, streamId: this.streamId }, 'chat delivery window failed');
          this.scheduleDelivery(start);
        }
      },
      Math.max(0, lastStart + windowMs(this.options) - Date.now()),
    );
  }

  private visible(m: ChatMessageProps): boolean {
    const until = this.moderation.bans.get(m.userId ?? '');
    return until === undefined || (until !== null && until <= Date.now());
  }

  /**
   * One delivery window: the chat that arrived (a fair sample for regular viewers when too fast to
   * read) plus everything queued for every viewer, written to each socket in one write. `done` runs
   * when every socket has been written (in slices, for a large audience).
   */
  private deliverChat(done: () => void): void {
    const all = this.pending.length ? this.pending.filter((m) => this.visible(m)) : [];
    this.pending = [];
    const common = this.outbox;
    this.outbox = [];
    if (all.length > 0) this.delivered = [...this.delivered, ...all.slice(-RECENT_DELIVERED)].slice(-RECENT_DELIVERED);
    if (this.viewers.size === 0 || (all.length === 0 && common.length === 0)) return done();
    if (all.length === 0) return this.writeToAll(common, common, undefined, done);
    this.writer.stats.batches++;
    const full = encodeServerFrame({ chat: { messages: all, sampled: false } });
    if (all.length <= this.options.maxMessagesPerFrame) return this.writeToAll([...common, full], [...common, full], undefined, done);
    // A fair sample: every k-th message of the window, in order.
    const step = all.length / this.options.maxMessagesPerFrame;
    const sample: ChatMessageProps[] = [];
    const sampledIds = new Set<string>();
    for (let i = 0; i < this.options.maxMessagesPerFrame; i++) {
      const m = all[Math.floor(i * step)]!;
      sample.push(m);
      sampledIds.add(m.id ?? '');
    }
    const sampled = encodeServerFrame({ chat: { messages: sample, sampled: true } });
    // Senders whose message fell outside the sample still see their own message come back.
    const ownById = new Map<string, ChatMessageProps[]>();
    for (const m of all) {
      if (sampledIds.has(m.id ?? '')) continue;
      const list = ownById.get(m.userId ?? '');
      if (list) list.push(m);
      else ownById.set(m.userId ?? '', [m]);
    }
    this.writeToAll(
      [...common, sampled],
      [...common, full],
      (v) => {
        const own = v.user ? ownById.get(v.user.id) : undefined;
        return own ? encodeServerFrame({ chat: { messages: own, sampled: true } }) : undefined;
      },
      done,
    );
  }

  /**
   * Writes `regular` to every regular viewer and `moderators` to moderators: each list framed and
   * joined once, the same bytes for every socket, plus an optional frame of a viewer's own. Viewers
   * are written `writeSlice` at a time, the event loop turning between slices; those who left
   * meanwhile are skipped, those who joined get the next window.
   */
  private writeToAll(
    regular: Uint8Array[],
    moderators: Uint8Array[],
    extra: ((v: Viewer) => Uint8Array | undefined) | undefined,
    done: () => void,
  ): void {
    const regularJoined = frameJoined(regular);
    const moderatorJoined = moderators === regular ? regularJoined : frameJoined(moderators);
    const viewers = [...this.viewers];
    let next = 0;
    const slice = (): void => {
      if (this.closed) return done();
      const end = Math.min(viewers.length, next + this.options.writeSlice);
      for (; next < end; next++) {
        const v = viewers[next]!;
        if (!this.viewers.has(v)) continue;
        try {
          if (v.moderator) this.writeWindow(v, moderators, moderatorJoined, undefined);
          else this.writeWindow(v, regular, regularJoined, extra?.(v));
        } catch (err) {
          // One socket's failure must not cost the others their window (nor, uncaught, end the node).
          this.log.error({ err, streamId: this.streamId, userId: v.user?.id }, 'chat delivery to a viewer failed');
        }
      }
      if (next < viewers.length) setImmediate(slice);
      else done();
    };
    slice();
  }

  /** One viewer's window: the shared frames, plus its own messages when the sample left them out. */
  private writeWindow(v: Viewer, frames: Uint8Array[], joined: Buffer | undefined, own: Uint8Array | undefined): void {
    if (!own) return this.writer.write(v, frames, joined, this.streamId);
    const ownJoined = joined && frameJoined([own]);
    this.writer.write(v, [...frames, own], ownJoined ? Buffer.concat([joined, ownJoined]) : undefined, this.streamId);
  }

  private shareReactions(): void {
    if (this.reactionsLocal.size > 0) {
      streamTopics.reactions.publish(this.bus, this.streamId, { counts: Object.fromEntries(this.reactionsLocal) });
      this.reactionsLocal.clear();
    }
    if (this.reactionsIn.size > 0) {
      const frame = encodeServerFrame({ reactions: { counts: Object.fromEntries(this.reactionsIn), windowMs: this.reactionWindowMs } });
      this.reactionsIn.clear();
      this.broadcast(frame);
    }
  }

  /** Queues a frame for every viewer; it goes out with the next delivery window (at most 1/framesPerSecond later). */
  broadcast(frame: Uint8Array): void {
    if (this.viewers.size === 0) return;
    this.outbox.push(frame);
  }

  /** One frame to one viewer now (status on join, history, errors, pong). */
  send(v: Viewer, frame: Uint8Array): void {
    this.writer.write(v, [frame], undefined, this.streamId);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.deliveryTimer);
    for (const s of this.subs) s.unsubscribe();
    this.unwatchAudience();
    for (const v of this.viewers) v.ws.close(1001, 'channel closed');
    this.viewers.clear();
    this.pending = [];
  }
}

function windowMs(options: ChannelOptions): number {
  return Math.max(10, Math.floor(1000 / options.framesPerSecond));
}
