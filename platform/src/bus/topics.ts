// Typed bus topics: every message nodes exchange over the bus is declared once, as a subject family
// keyed by one token (a stream id or a node id) and a codec that parses — never casts — what arrives.
// `publish` encodes a typed value; `subscribe` decodes, drops what does not parse (counted per topic,
// logged at most once a minute per topic) and keeps a failing handler from throwing into the bus
// adapter. A payload from another process is input like any other: whatever it holds, it changes
// nothing unless it is a valid value of the topic's type. No module builds a subject string by hand.
//
//   onair.stream.<id>.chat.<partition>  ChatMessage (protobuf), partitioned by sender (streamTopics.chat)
//   onair.stream.<id>.reactions         one node's reaction counts of one window
//   onair.stream.<id>.moderation        bans, unbans, deletions, chat settings, moderator grants
//   onair.stream.<id>.viewers           one node's viewers of the stream (nodes that do not know its origin)
//   onair.stream.<id>.viewer-total      the stream's viewers over all nodes, from its origin node
//   onair.stream.<id>.status            live / offline
//   onair.stream.<id>.tip               TipEvent (protobuf), from the tip ledger's outbox
//   onair.node.<id>.viewers             another node's viewers of the streams this node is the origin of
//   (the cascade's relay negotiation, onair.cascade.node.<id>.*, keeps its zod schemas in relay-protocol.ts)
import { createHash } from 'node:crypto';
import { onair } from '@onair/proto';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { MAX_BLOCKED_TERM_CHARS, MAX_BLOCKED_TERMS } from '../moderation/text-filter.js';
import { isSubjectToken, type Bus, type BusSubscription, type SubscribeOptions } from './bus.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): Decoded<T>;
}

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/** JSON on the wire, checked by a zod schema on receipt. */
export function jsonCodec<S extends z.ZodType>(schema: S): Codec<z.output<S>> {
  return {
    encode: (value) => new TextEncoder().encode(JSON.stringify(value)),
    decode(bytes) {
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
      } catch {
        return { ok: false, error: 'not UTF-8 JSON' };
      }
      const r = schema.safeParse(json);
      return r.success ? { ok: true, value: r.data } : { ok: false, error: issues(r.error) };
    },
  };
}

interface ProtobufType<M> {
  encode(message: M): { finish(): Uint8Array };
  decode(bytes: Uint8Array): M;
}

/** Protobuf on the wire (the same messages the channel sends to browsers), checked by a zod schema after decoding. */
export function protobufCodec<M, S extends z.ZodType>(type: ProtobufType<M>, schema: S): Codec<z.output<S>> {
  return {
    encode: (value) => type.encode(value as M).finish(),
    decode(bytes) {
      let message: M;
      try {
        message = type.decode(bytes);
      } catch {
        return { ok: false, error: 'not a valid protobuf message' };
      }
      const r = schema.safeParse(message);
      return r.success ? { ok: true, value: r.data } : { ok: false, error: issues(r.error) };
    },
  };
}

/** Subscribe to a topic for every key (every stream, every node). */
export const ANY_KEY = '*';

const REJECT_LOG_INTERVAL_MS = 60_000;

export interface TopicOptions<T> {
  /** An extra subject token derived from the value (chat partitions); subscribers read all of them. */
  partitionOf?: (value: T) => string;
  /** The key a value names itself (e.g. a notice's streamId): it must match its subject's key. */
  keyOf?: (value: T) => string;
}

export interface TopicSubscribeOptions extends SubscribeOptions {
  log: Logger;
}

/** One subject family: `<family>.<key>.<name>[.<partition>]`, one codec. */
export class Topic<T> {
  /** Payloads dropped because they did not parse (or named another key than their subject's). */
  rejected = 0;
  private lastRejectLogMs = 0;

  constructor(
    readonly family: string,
    readonly name: string,
    readonly codec: Codec<T>,
    private readonly options: TopicOptions<T> = {},
  ) {}

  /** The subject a value for `key` is published on. Throws for a key that is not a subject token. */
  subject(key: string, value?: T): string {
    if (!isSubjectToken(key)) throw new Error(`not usable in a subject: ${JSON.stringify(key).slice(0, 80)}`);
    const base = `${this.family}.${key}.${this.name}`;
    return this.options.partitionOf && value !== undefined ? `${base}.${this.options.partitionOf(value)}` : base;
  }

  /** What a subscriber listens on: one key or ANY_KEY, every partition. */
  pattern(key: string): string {
    if (key !== ANY_KEY && !isSubjectToken(key)) throw new Error(`not usable in a subject: ${JSON.stringify(key).slice(0, 80)}`);
    return `${this.family}.${key}.${this.name}${this.options.partitionOf ? '.*' : ''}`;
  }

  publish(bus: Bus, key: string, value: T): void {
    bus.publish(this.subject(key, value), this.codec.encode(value));
  }

  subscribe(bus: Bus, key: string, handler: (value: T, key: string) => void, options: TopicSubscribeOptions): BusSubscription {
    const { log, ...subscribeOptions } = options;
    const keyIndex = this.family.split('.').length;
    return bus.subscribe(
      this.pattern(key),
      (data, subject) => {
        const subjectKey = subject.split('.')[keyIndex] ?? '';
        const decoded = this.codec.decode(data);
        if (!decoded.ok) return this.reject(log, subject, decoded.error);
        if (this.options.keyOf && this.options.keyOf(decoded.value) !== subjectKey)
          return this.reject(log, subject, 'names another key than its subject');
        try {
          handler(decoded.value, subjectKey);
        } catch (err) {
          log.error({ err, subject }, 'bus message handler failed');
        }
      },
      subscribeOptions,
    );
  }

  private reject(log: Logger, subject: string, error: string): void {
    this.rejected++;
    const now = Date.now();
    if (now - this.lastRejectLogMs < REJECT_LOG_INTERVAL_MS) return;
    this.lastRejectLogMs = now;
    log.warn(
      { subject: subject.slice(0, 200), error, rejected: this.rejected },
      'dropped a bus message that is not a valid value of its topic',
    );
  }
}

export function topic<T>(family: string, name: string, codec: Codec<T>, options?: TopicOptions<T>): Topic<T> {
  return new Topic(family, name, codec, options);
}

// ---- the real-time channel's topics, one family per stream ---------------------------------------

export const CHAT_PARTITIONS = 8;
/** The longest chat message in characters (code points). */
export const MAX_CHAT_CHARS = 500;
const STREAM = 'onair.stream';

const id = z.string().min(1).max(64);
const streamId = id.refine(isSubjectToken, 'not a stream id');
const text = (max: number) => z.string().refine((s) => [...s].length <= max, `at most ${max} characters`);

/** The partition a sender's messages go to (stable, so one user's messages stay in order). */
export function chatPartition(userId: string): string {
  return String(createHash('sha1').update(userId).digest().readUInt32BE(0) % CHAT_PARTITIONS);
}

export const ChatMessageSchema = z.object({
  id,
  userId: id,
  username: z.string().min(1).max(64),
  text: text(MAX_CHAT_CHARS).refine((s) => s.trim().length > 0, 'empty'),
  sentAtMs: z.number().int().positive(),
});
export type BusChatMessage = z.output<typeof ChatMessageSchema>;

export const ChatSettingsSchema = z.object({
  slowModeSeconds: z.number().int().min(0).max(3600),
  blockedTerms: z.array(z.string().max(MAX_BLOCKED_TERM_CHARS)).max(MAX_BLOCKED_TERMS),
});

export const ModerationNoticeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ban'), streamId, userId: id, untilMs: z.number().int().positive().nullable() }),
  z.object({ kind: z.literal('unban'), streamId, userId: id }),
  z.object({ kind: z.literal('delete'), streamId, messageId: id }),
  z.object({ kind: z.literal('settings'), streamId, settings: ChatSettingsSchema }),
  /** The owner granted (true) or revoked (false) a user's moderator role: sessions pick it up live. */
  z.object({ kind: z.literal('moderator'), streamId, userId: id, moderator: z.boolean() }),
]);
export type ModerationNotice = z.output<typeof ModerationNoticeSchema>;

export const ReactionCountsSchema = z.object({
  counts: z
    .record(z.string().min(1).max(16), z.number().int().positive().max(10_000_000))
    .refine((c) => Object.keys(c).length <= 64, 'too many emoji'),
});

export const NodeViewersSchema = z.object({
  node: id.refine(isSubjectToken, 'not a node id'),
  count: z.number().int().min(0).max(10_000_000),
});
export type NodeViewers = z.output<typeof NodeViewersSchema>;

/** Streams one viewer batch may carry (a node splits larger batches). */
export const MAX_VIEWER_BATCH = 2000;

/** One node's viewers of each stream of one origin node, sent to that origin once an interval. */
export const NodeViewerBatchSchema = z.object({
  node: id.refine(isSubjectToken, 'not a node id'),
  counts: z
    .record(streamId, z.number().int().min(0).max(10_000_000))
    .refine((c) => Object.keys(c).length <= MAX_VIEWER_BATCH, `at most ${MAX_VIEWER_BATCH} streams`),
});
export type NodeViewerBatch = z.output<typeof NodeViewerBatchSchema>;

/** A stream's viewers over all nodes, as its origin node summed them. */
export const ViewerTotalSchema = z.object({
  node: id.refine(isSubjectToken, 'not a node id'),
  total: z.number().int().min(0).max(1_000_000_000),
});
export type ViewerTotal = z.output<typeof ViewerTotalSchema>;

export const TipEventSchema = z.object({
  tipId: id,
  fromUsername: z.string().min(1).max(64),
  amount: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  currency: z.string().regex(/^[A-Z]{3}$/),
  message: text(280),
});
export type BusTipEvent = z.output<typeof TipEventSchema>;

export const streamTopics = {
  chat: topic(STREAM, 'chat', protobufCodec(onair.channel.v1.ChatMessage, ChatMessageSchema), {
    partitionOf: (m) => chatPartition(m.userId),
  }),
  reactions: topic(STREAM, 'reactions', jsonCodec(ReactionCountsSchema)),
  moderation: topic(STREAM, 'moderation', jsonCodec(ModerationNoticeSchema), { keyOf: (n) => n.streamId }),
  viewers: topic(STREAM, 'viewers', jsonCodec(NodeViewersSchema)),
  viewerTotal: topic(STREAM, 'viewer-total', jsonCodec(ViewerTotalSchema)),
  status: topic(STREAM, 'status', jsonCodec(z.object({ live: z.boolean() }))),
  tip: topic(STREAM, 'tip', protobufCodec(onair.channel.v1.TipEvent, TipEventSchema)),
};

// ---- topics addressed to one node -----------------------------------------------------------------

const NODE = 'onair.node';

export const nodeTopics = {
  /** Other nodes' viewer counts of the streams this node is the origin of, one batch per node and interval. */
  viewers: topic(NODE, 'viewers', jsonCodec(NodeViewerBatchSchema)),
};
