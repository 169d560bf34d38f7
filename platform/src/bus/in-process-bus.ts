// The embedded mode's bus: subjects matched in memory, delivery on a microtask (never inside
// publish, like a network bus). One process only; never used when NATS_URL is set.
import { EventEmitter } from 'node:events';
import {
  BusRequestError,
  checkReply,
  encodeRemoteError,
  subjectMatches,
  type Bus,
  type BusEvents,
  type BusHandler,
  type BusResponder,
  type BusStatus,
  type BusSubscription,
  type RequestOptions,
  type SubscribeOptions,
} from './bus.js';

interface Sub {
  pattern: string;
  handler: BusHandler;
  queue: string | undefined;
}

export class InProcessBus extends EventEmitter<BusEvents> implements Bus {
  readonly kind = 'in-process' as const;
  private subs = new Set<Sub>();
  private responders = new Set<{ pattern: string; responder: BusResponder }>();
  private turn = 0;
  private state: BusStatus = 'connected';

  get status(): BusStatus {
    return this.state;
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.state === 'closed') return;
    const plain: Sub[] = [];
    const queues = new Map<string, Sub[]>();
    for (const s of this.subs) {
      if (!subjectMatches(s.pattern, subject)) continue;
      if (s.queue === undefined) plain.push(s);
      else queues.set(s.queue, [...(queues.get(s.queue) ?? []), s]);
    }
    for (const members of queues.values()) plain.push(members[this.turn++ % members.length]!);
    if (plain.length === 0) return;
    queueMicrotask(() => {
      for (const s of plain) if (this.subs.has(s)) s.handler(data, subject);
    });
  }

  subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): BusSubscription {
    const sub: Sub = { pattern: subject, handler, queue: options.queue };
    this.subs.add(sub);
    return { unsubscribe: () => void this.subs.delete(sub) };
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.state === 'closed') throw new BusRequestError('disconnected', 'the bus is closed');
    const matching = [...this.responders].filter((r) => subjectMatches(r.pattern, subject));
    if (!matching.length) throw new BusRequestError('no_responders', `nobody answers ${subject}`);
    const { responder } = matching[this.turn++ % matching.length]!;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new BusRequestError('timeout', `${subject}: no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    });
    const answer = (async () => {
      await new Promise<void>((r) => queueMicrotask(r)); // never answer inside request(), like a network bus
      try {
        return await responder(data, subject);
      } catch (err) {
        return encodeRemoteError((err as Error).message);
      }
    })();
    try {
      return checkReply(await Promise.race([answer, timeout]), subject);
    } finally {
      clearTimeout(timer);
    }
  }

  serve(subject: string, responder: BusResponder, _options: SubscribeOptions = {}): BusSubscription {
    const entry = { pattern: subject, responder };
    this.responders.add(entry);
    return { unsubscribe: () => void this.responders.delete(entry) };
  }

  async flush(): Promise<void> {
    await new Promise<void>((r) => queueMicrotask(r));
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.subs.clear();
    this.responders.clear();
    this.state = 'closed';
    this.emit('status', 'closed');
  }
}
