// The real-time channel's wire format (proto/channel.proto, onair.channel.v1) encoded and decoded by
// hand, so the browser SDK carries no protobuf runtime: ClientFrame out, ServerFrame in. Unknown
// fields are skipped, as proto3 readers must; a truncated or malformed frame throws a RangeError.
// client-sdk/test/channel-codec.test.ts checks it byte for byte against the generated @onair/proto.

export type ClientFrameBody = { chat: { text: string } } | { reaction: { emoji: string } } | { ping: Record<string, never> };
export type ClientFrame = { seq: number } & ClientFrameBody;

export interface ChatMessage {
  id: string;
  userId: string;
  username: string;
  text: string;
  sentAtMs: number;
}

export interface ChatBatch {
  messages: ChatMessage[];
  sampled: boolean;
  history: boolean;
}

export interface ReactionAggregate {
  counts: Record<string, number>;
  windowMs: number;
}

export interface TipEvent {
  tipId: string;
  fromUsername: string;
  /** Minor units (cents). */
  amount: number;
  currency: string;
  message: string;
}

export interface ModerationEvent {
  deletedMessageId: string;
  bannedUserId: string;
  bannedUntilMs: number;
  unbannedUserId: string;
}

export interface StreamStatus {
  live: boolean;
  chatReconnecting: boolean;
  slowModeSeconds: number;
}

export interface ChannelErrorFrame {
  code: string;
  message: string;
  seq: number;
  retryAfterMs: number;
}

export type ServerFrame =
  | { kind: 'chat'; chat: ChatBatch }
  | { kind: 'reactions'; reactions: ReactionAggregate }
  | { kind: 'tip'; tip: TipEvent }
  | { kind: 'viewers'; viewers: { count: number } }
  | { kind: 'moderation'; moderation: ModerationEvent }
  | { kind: 'status'; status: StreamStatus }
  | { kind: 'error'; error: ChannelErrorFrame }
  | { kind: 'pong' }
  | { kind: 'unknown' };

// ---- encoding ---------------------------------------------------------------------------------

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

function varint(out: number[], value: number): void {
  let v = value;
  while (v > 0x7f) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function bytesField(out: number[], field: number, bytes: Uint8Array | number[]): void {
  varint(out, (field << 3) | 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function stringMessage(text: string): number[] {
  const out: number[] = [];
  if (text !== '') bytesField(out, 1, utf8.encode(text));
  return out;
}

export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  const out: number[] = [];
  if (frame.seq) {
    varint(out, 1 << 3);
    varint(out, frame.seq >>> 0);
  }
  if ('chat' in frame) bytesField(out, 2, stringMessage(frame.chat.text));
  else if ('reaction' in frame) bytesField(out, 3, stringMessage(frame.reaction.emoji));
  else bytesField(out, 4, []);
  return Uint8Array.from(out);
}

// ---- decoding ---------------------------------------------------------------------------------

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    readonly end = buf.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 0x80;
    }
    throw new RangeError('varint too long');
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.end) throw new RangeError('truncated field');
    const slice = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return slice;
  }

  string(): string {
    return utf8Decoder.decode(this.bytes());
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new RangeError('truncated field');
  }

  /** Calls `onField(field, wire)` per field; it must consume the value or return false to skip it. */
  fields(onField: (field: number, wire: number) => boolean): void {
    while (!this.done) {
      const tag = this.varint();
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (!onField(field, wire)) this.skip(wire);
    }
  }
}

type Decoder<T> = (r: Reader) => T;

const sub = <T>(r: Reader, decode: Decoder<T>): T => decode(new Reader(r.bytes()));

const chatMessage: Decoder<ChatMessage> = (r) => {
  const m: ChatMessage = { id: '', userId: '', username: '', text: '', sentAtMs: 0 };
  r.fields((f, w) => {
    if (w === 2 && f === 1) m.id = r.string();
    else if (w === 2 && f === 2) m.userId = r.string();
    else if (w === 2 && f === 3) m.username = r.string();
    else if (w === 2 && f === 4) m.text = r.string();
    else if (w === 0 && f === 5) m.sentAtMs = r.varint();
    else return false;
    return true;
  });
  return m;
};

const chatBatch: Decoder<ChatBatch> = (r) => {
  const b: ChatBatch = { messages: [], sampled: false, history: false };
  r.fields((f, w) => {
    if (w === 2 && f === 1) b.messages.push(sub(r, chatMessage));
    else if (w === 0 && f === 2) b.sampled = r.varint() !== 0;
    else if (w === 0 && f === 3) b.history = r.varint() !== 0;
    else return false;
    return true;
  });
  return b;
};

const reactionAggregate: Decoder<ReactionAggregate> = (r) => {
  const a: ReactionAggregate = { counts: {}, windowMs: 0 };
  r.fields((f, w) => {
    if (w === 2 && f === 1) {
      let key = '';
      let value = 0;
      const entry = new Reader(r.bytes());
      entry.fields((ef, ew) => {
        if (ew === 2 && ef === 1) key = entry.string();
        else if (ew === 0 && ef === 2) value = entry.varint();
        else return false;
        return true;
      });
      a.counts[key] = value;
    } else if (w === 0 && f === 2) a.windowMs = r.varint();
    else return false;
    return true;
  });
  return a;
};

const tipEvent: Decoder<TipEvent> = (r) => {
  const t: TipEvent = { tipId: '', fromUsername: '', amount: 0, currency: '', message: '' };
  r.fields((f, w) => {
    if (w === 2 && f === 1) t.tipId = r.string();
    else if (w === 2 && f === 2) t.fromUsername = r.string();
    else if (w === 0 && f === 3) t.amount = r.varint();
    else if (w === 2 && f === 4) t.currency = r.string();
    else if (w === 2 && f === 5) t.message = r.string();
    else return false;
    return true;
  });
  return t;
};

const viewerCount: Decoder<{ count: number }> = (r) => {
  const v = { count: 0 };
  r.fields((f, w) => (w === 0 && f === 1 ? ((v.count = r.varint()), true) : false));
  return v;
};

const moderationEvent: Decoder<ModerationEvent> = (r) => {
  const m: ModerationEvent = { deletedMessageId: '', bannedUserId: '', bannedUntilMs: 0, unbannedUserId: '' };
  r.fields((f, w) => {
    if (w === 2 && f === 1) m.deletedMessageId = r.string();
    else if (w === 2 && f === 2) m.bannedUserId = r.string();
    else if (w === 0 && f === 3) m.bannedUntilMs = r.varint();
    else if (w === 2 && f === 4) m.unbannedUserId = r.string();
    else return false;
    return true;
  });
  return m;
};

const streamStatus: Decoder<StreamStatus> = (r) => {
  const s: StreamStatus = { live: false, chatReconnecting: false, slowModeSeconds: 0 };
  r.fields((f, w) => {
    if (w === 0 && f === 1) s.live = r.varint() !== 0;
    else if (w === 0 && f === 2) s.chatReconnecting = r.varint() !== 0;
    else if (w === 0 && f === 3) s.slowModeSeconds = r.varint();
    else return false;
    return true;
  });
  return s;
};

const errorFrame: Decoder<ChannelErrorFrame> = (r) => {
  const e: ChannelErrorFrame = { code: '', message: '', seq: 0, retryAfterMs: 0 };
  r.fields((f, w) => {
    if (w === 2 && f === 1) e.code = r.string();
    else if (w === 2 && f === 2) e.message = r.string();
    else if (w === 0 && f === 3) e.seq = r.varint();
    else if (w === 0 && f === 4) e.retryAfterMs = r.varint();
    else return false;
    return true;
  });
  return e;
};

/** Decodes one ServerFrame; the last oneof member present wins, as in protobuf. */
export function decodeServerFrame(data: Uint8Array): ServerFrame {
  const r = new Reader(data);
  let frame: ServerFrame = { kind: 'unknown' };
  r.fields((f, w) => {
    if (w !== 2) return false;
    switch (f) {
      case 1:
        frame = { kind: 'chat', chat: sub(r, chatBatch) };
        return true;
      case 2:
        frame = { kind: 'reactions', reactions: sub(r, reactionAggregate) };
        return true;
      case 3:
        frame = { kind: 'tip', tip: sub(r, tipEvent) };
        return true;
      case 4:
        frame = { kind: 'viewers', viewers: sub(r, viewerCount) };
        return true;
      case 5:
        frame = { kind: 'moderation', moderation: sub(r, moderationEvent) };
        return true;
      case 6:
        frame = { kind: 'status', status: sub(r, streamStatus) };
        return true;
      case 7:
        frame = { kind: 'error', error: sub(r, errorFrame) };
        return true;
      case 8:
        r.bytes();
        frame = { kind: 'pong' };
        return true;
      default:
        return false;
    }
  });
  return frame;
}
