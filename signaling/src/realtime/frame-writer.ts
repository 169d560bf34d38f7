// Writes encoded ServerFrames to channel sockets: the only module that knows `ws` internals. A
// broadcast's frames are framed as WebSocket messages once and the same bytes are handed to every
// socket (one write per viewer per delivery window); a socket too far behind has frames dropped, then
// is disconnected, so a slow client never grows this node's memory. Counts what it sends and drops
// for /metrics. Never decides what a viewer receives: channel delivery does.
import * as wsModule from 'ws';
import type { WebSocket } from 'ws';
import type { AuthUser, Logger } from '@onair/platform';

/** One socket of a channel and what the writer tracks about it. */
export interface Viewer {
  readonly ws: WebSocket;
  readonly user: AuthUser | null;
  /** Owner, moderator or admin: receives every message, not a sample. Changes live when the owner grants or revokes. */
  moderator: boolean;
  /** Since when frames have been dropped for this socket (0: it keeps up). */
  slowSince: number;
  droppedFrames: number;
}

export interface ChannelStats {
  /** WebSocket messages (ServerFrames) sent. */
  framesSent: number;
  /** Socket writes: one per viewer per delivery window carries all of that window's frames. */
  writes: number;
  framesDropped: number;
  slowDisconnects: number;
  batches: number;
}

export function newChannelStats(): ChannelStats {
  return { framesSent: 0, writes: 0, framesDropped: 0, slowDisconnects: 0, batches: 0 };
}

export interface SlowSocketPolicy {
  /** Above this many bytes queued on a socket, frames for it are dropped. */
  slowSocketBytes: number;
  /** A socket dropping frames for this long (or queuing 4x slowSocketBytes) is disconnected. */
  slowSocketGraceMs: number;
}

// ---- frame once, write the same bytes to every socket ----------------------------------------
// `ws` (8.x) frames each send separately; for a broadcast we build the WebSocket frame (header +
// payload, unmasked, binary) once with Sender.frame and hand the same buffers to each socket's
// sender. These are stable but untyped parts of ws: when they are missing, or a sender is busy
// (compressing, queueing), we fall back to ws.send.
type Framed = readonly Buffer[];
interface SenderInternals {
  _state?: number;
  _queue?: unknown[];
  sendFrame?: (list: Framed, cb?: (err?: Error) => void) => void;
}
const SenderClass = (wsModule as unknown as { Sender?: { frame?: (data: Buffer, o: object) => Buffer[] } }).Sender;

export function frameOnce(bytes: Uint8Array): Framed | undefined {
  if (typeof SenderClass?.frame !== 'function') return undefined;
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return SenderClass.frame(data, { fin: true, rsv1: false, opcode: 0x02, mask: false, readOnly: true });
}

function writeFramed(ws: WebSocket, framed: Framed): boolean {
  const sender = (ws as unknown as { _sender?: SenderInternals })._sender;
  if (!sender || typeof sender.sendFrame !== 'function' || sender._state !== 0 || (sender._queue?.length ?? 0) > 0) return false;
  sender.sendFrame(framed);
  return true;
}

/** Frames framed as WebSocket binary messages and joined into one buffer (undefined without ws internals). */
export function frameJoined(frames: readonly Uint8Array[]): Buffer | undefined {
  const parts: Buffer[] = [];
  for (const f of frames) {
    const framed = frameOnce(f);
    if (!framed) return undefined;
    parts.push(...framed);
  }
  return Buffer.concat(parts);
}

export class FrameWriter {
  /** Counters shared by all channels of the node (for /metrics). */
  readonly stats: ChannelStats = newChannelStats();

  constructor(
    private readonly policy: SlowSocketPolicy,
    private readonly log: Logger,
  ) {}

  /** One frame to one viewer now (status on join, history, errors, pong). */
  send(v: Viewer, frame: Uint8Array, streamId: string): void {
    this.write(v, [frame], undefined, streamId);
  }

  /**
   * Frames to one viewer in one socket write (`joined`: the frames already framed back to back),
   * unless its socket is too far behind (then dropped; then disconnected).
   */
  write(v: Viewer, frames: readonly Uint8Array[], joined: Buffer | undefined, streamId: string): void {
    const ws = v.ws;
    if (ws.readyState !== ws.OPEN) return;
    const queued = ws.bufferedAmount;
    if (queued > this.policy.slowSocketBytes) {
      const now = Date.now();
      v.slowSince ||= now;
      v.droppedFrames += frames.length;
      this.stats.framesDropped += frames.length;
      if (queued > this.policy.slowSocketBytes * 4 || now - v.slowSince > this.policy.slowSocketGraceMs) {
        this.stats.slowDisconnects++;
        this.log.info({ streamId, userId: v.user?.id, queued }, 'disconnecting a slow channel client');
        ws.terminate();
      }
      return;
    }
    v.slowSince = 0;
    this.stats.framesSent += frames.length;
    this.stats.writes++;
    if (joined && writeFramed(ws, [joined])) return;
    // ws frames each send itself; cork so the frames still leave in one write.
    const socket = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    socket?.cork();
    for (const f of frames) ws.send(f, { binary: true, compress: false });
    socket?.uncork();
  }
}
