// The subjects the real-time channel uses on the bus, one family per stream:
//   onair.stream.<id>.chat.<partition>  chat messages (protobuf ChatMessage), partitioned by sender
//   onair.stream.<id>.reactions         per-node reaction counts of one window
//   onair.stream.<id>.moderation        bans, deletions, chat settings
//   onair.stream.<id>.viewers           per-node viewer counts
//   onair.stream.<id>.status            live / offline
//   onair.stream.<id>.tip               tips (protobuf TipEvent, from the tip ledger's outbox)
// A hot stream's chat is spread over CHAT_PARTITIONS subjects so that partition-level consumers (and
// NATS cluster routes) share the load; gateways read all partitions with one wildcard subscription.
import { createHash } from 'node:crypto';
import { isSubjectToken } from './bus.js';

export const CHAT_PARTITIONS = 8;

export type StreamTopic = 'reactions' | 'moderation' | 'viewers' | 'status' | 'tip';

function streamToken(streamId: string): string {
  if (!isSubjectToken(streamId)) throw new Error(`stream id not usable in a subject: ${JSON.stringify(streamId)}`);
  return streamId;
}

export const subjects = {
  chatPartition(streamId: string, partition: number): string {
    return `onair.stream.${streamToken(streamId)}.chat.${partition}`;
  },
  /** The partition a sender's messages go to (stable, so one user's messages stay in order). */
  chatFor(streamId: string, userId: string): string {
    const p = createHash('sha1').update(userId).digest().readUInt32BE(0) % CHAT_PARTITIONS;
    return subjects.chatPartition(streamId, p);
  },
  chatAll(streamId: string): string {
    return `onair.stream.${streamToken(streamId)}.chat.*`;
  },
  topic(streamId: string, topic: StreamTopic): string {
    return `onair.stream.${streamToken(streamId)}.${topic}`;
  },
};
