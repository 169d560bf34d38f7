// The message bus between gateway nodes: fire-and-forget publish/subscribe on dot-separated subjects
// (NATS semantics: `*` matches one token, `>` the rest; subscribers sharing a queue group split the
// messages). Two adapters: in-process (embedded mode, one node) and NATS (distributed mode).
// A Bus never persists anything and never throws from publish: while disconnected it reports
// `reconnecting` and the caller decides what to tell users.
import { EventEmitter } from 'node:events';

export type BusStatus = 'connected' | 'reconnecting' | 'closed';

export type BusHandler = (data: Uint8Array, subject: string) => void;

export interface BusSubscription {
  unsubscribe(): void;
}

export interface SubscribeOptions {
  /** Subscribers in the same queue group share the messages: each goes to one of them. */
  queue?: string;
}

export type BusEvents = { status: [status: BusStatus] };

export interface Bus extends EventEmitter<BusEvents> {
  readonly kind: 'in-process' | 'nats';
  readonly status: BusStatus;
  /** Sends and forgets; dropped (and counted) when the bus cannot take it. */
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, handler: BusHandler, options?: SubscribeOptions): BusSubscription;
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
