// The message bus between gateway nodes: fire-and-forget publish/subscribe on dot-separated subjects
// (NATS semantics: `*` matches one token, `>` the rest; subscribers sharing a queue group split the
// messages), plus request/reply for the few exchanges that need an answer (media relay set-up).
// Two adapters: in-process (embedded mode, one node) and NATS (distributed mode).
// A Bus never persists anything and never throws from publish: while disconnected it reports
// `reconnecting` and the caller decides what to tell users. `request` does reject (no responder,
// timeout, disconnected) with a BusRequestError, because its caller is waiting for an answer.
import type { EventEmitter } from 'node:events';

export type BusStatus = 'connected' | 'reconnecting' | 'closed';

export type BusHandler = (data: Uint8Array, subject: string) => void;

export interface BusSubscription {
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /** Subscribers in the same queue group share the messages: each goes to one of them. */
  queue?: string;
}

/** Answers one request; a thrown error reaches the requester as a BusRequestError('remote_error'). */
export type BusResponder = (data: Uint8Array, subject: string) => Promise<Uint8Array>;

export interface RequestOptions {
  timeoutMs: number;
}

export type BusRequestFailure = 'no_responders' | 'timeout' | 'disconnected' | 'remote_error';

export class BusRequestError extends Error {
  constructor(
    readonly reason: BusRequestFailure,
    message: string,
  ) {
    super(message);
    this.name = 'BusRequestError';
  }
}

/** How a responder's failure travels back to the requester (a header would need NATS 2.2+ headers on both adapters). */
const REMOTE_ERROR_PREFIX = '\u0000onair-error:';

export function encodeRemoteError(message: string): Uint8Array {
  return new TextEncoder().encode(REMOTE_ERROR_PREFIX + message);
}

/** Throws the responder's error carried by a reply, or returns the reply. */
export function checkReply(data: Uint8Array, subject: string): Uint8Array {
  if (data.length >= REMOTE_ERROR_PREFIX.length && data[0] === 0) {
    const text = new TextDecoder().decode(data);
    if (text.startsWith(REMOTE_ERROR_PREFIX))
      throw new BusRequestError('remote_error', `${subject}: ${text.slice(REMOTE_ERROR_PREFIX.length)}`);
  }
  return data;
}

export type BusEvents = { status: [status: BusStatus] };

export interface Bus extends EventEmitter<BusEvents> {
  readonly kind: 'in-process' | 'nats';
  readonly status: BusStatus;
  /** Sends and forgets; dropped (and counted) when the bus cannot take it. */
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): BusSubscription;
  /** Sends one request and waits for the first reply (rejects with a BusRequestError). */
  request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Uint8Array>;
  /** Answers requests on `subject` (a queue group spreads them over responders). */
  serve(subject: string, responder: BusResponder, options?: SubscribeOptions): BusSubscription;
  /** Resolves when everything published so far has reached the server (in-process: at once). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** True for a subject token safe to embed (no dots, wildcards or spaces). */
export function isSubjectToken(token: string): boolean {
  return token.length > 0 && token.length <= 128 && TOKEN.test(token);
}

/** NATS subject matching: `*` is one token, `>` (last) is one or more tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
