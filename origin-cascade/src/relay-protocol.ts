// The messages nodes exchange over NATS to build and tear down relay links, validated with zod on
// receipt (another node's message is input like any other). Subjects are per node:
//   onair.cascade.node.<nodeId>.relay     request/reply: "send me stream S; my pipe end is E" (answer: a link,
//                                         or a refusal at the link limit naming the node's downstream nodes)
//   onair.cascade.node.<nodeId>.release   the downstream node no longer needs link L
//   onair.cascade.node.<nodeId>.unlinked  the upstream closed the link (stream ended or upstream lost it)
import { z } from 'zod';
import { isSubjectToken } from '@onair/platform';

const SrtpParameters = z.object({
  cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']),
  keyBase64: z.string().max(256),
});

export const PipeEndpointSchema = z.object({
  ip: z.string().min(1).max(64),
  port: z.number().int().min(1).max(65535),
  srtpParameters: SrtpParameters.optional(),
});

export const RelayRequest = z.object({
  streamId: z.string().min(1).max(64),
  fromNodeId: z.string().min(1).max(64),
  enableSrtp: z.boolean(),
  endpoint: PipeEndpointSchema,
});
export type RelayRequest = z.infer<typeof RelayRequest>;

export const RelayReply = z.object({
  linkId: z.string(),
  endpoint: PipeEndpointSchema,
  /** mediasoup RtpParameters of each producer, as the upstream's pipe consumer sends them. */
  producers: z
    .array(z.object({ id: z.string(), kind: z.enum(['audio', 'video']), rtpParameters: z.record(z.string(), z.unknown()) }))
    .min(1),
  /** Node ids from the origin to the upstream node. */
  path: z.array(z.string()).min(1),
});
export type RelayReply = z.infer<typeof RelayReply>;

/**
 * A relay request refused because the node already serves CASCADE_MAX_DOWNSTREAM links of the stream.
 * It names the nodes it relays the stream to (its children in the tree, some still setting up): the
 * requester asks one of them next, at once, instead of waiting and re-reading the registry. A node
 * of an older version reads this as a malformed reply, a failed attempt, and tries another holder.
 */
export const RelayRefusal = z.object({
  refused: z.literal('full'),
  downstream: z.array(z.string().min(1).max(64)).max(64),
});
export type RelayRefusal = z.infer<typeof RelayRefusal>;

/** What a relay request is answered with: a link, or a refusal at the link limit. */
export const RelayAnswer = z.union([RelayReply, RelayRefusal]);
export type RelayAnswer = z.infer<typeof RelayAnswer>;

export const LinkNotice = z.object({
  streamId: z.string().min(1).max(64),
  linkId: z.string(),
  reason: z.string().max(64),
});
export type LinkNotice = z.infer<typeof LinkNotice>;

export type NodeSubject = 'relay' | 'release' | 'unlinked';

export function nodeSubject(nodeId: string, what: NodeSubject): string {
  if (!isSubjectToken(nodeId)) throw new Error(`node id not usable in a subject: ${JSON.stringify(nodeId)}`);
  return `onair.cascade.node.${nodeId}.${what}`;
}

export const encode = (msg: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(msg));

/** Parses and validates a message; throws with the validation issue (answered back as a remote error). */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new Error('the message is not JSON');
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new Error(`malformed message: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
