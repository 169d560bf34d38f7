// The distributed mode's bus over NATS core (at-most-once, like the channel itself). Reconnects
// forever; while the connection is down it reports `reconnecting` and publishes are dropped, so a
// gateway keeps serving video and tells chat users instead of buffering without bound.
// Credentials: user and password (`nats://user:pass@host`), a token (`nats://token@host`) or a
// JWT/NKEY credentials file (NATS_CREDS_FILE); TLS with `tls://` URLs (a private CA through Node's
// NODE_EXTRA_CA_CERTS). The credentials never appear in a log line or an error.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  connect,
  credsAuthenticator,
  ErrorCode,
  NatsError,
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  type Subscription,
} from 'nats';
import type { Logger } from '../log.js';
import {
  BusRequestError,
  checkReply,
  encodeRemoteError,
  type Bus,
  type BusEvents,
  type BusHandler,
  type BusResponder,
  type BusStatus,
  type BusSubscription,
  type RequestOptions,
  type SubscribeOptions,
} from './bus.js';

export interface NatsBusOptions {
  /** One URL or several, comma-separated; credentials in the URL are taken out of it. */
  url: string;
  /** A `.creds` file (user JWT and NKEY seed) for NATS decentralised auth. */
  credsFile?: string | undefined;
  /** Connection name shown by the NATS server (e.g. the node id). */
  name?: string;
  reconnectWaitMs?: number;
}

/**
 * The servers without their credentials, and the credentials as nats.js takes them: `user:pass@`
 * as user and password, a lone `token@` as a token, a creds file as an authenticator; `tls://`
 * asks for TLS.
 */
export function natsConnectionOptions(urls: string, credsFile?: string): ConnectionOptions {
  const servers: string[] = [];
  const options: ConnectionOptions = {};
  for (const raw of urls
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(raw.includes('://') ? raw : `nats://${raw}`);
    } catch {
      throw new Error('NATS_URL is not a URL (nats://[user:pass@]host:port, tls://…)');
    }
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    if (user && pass) Object.assign(options, { user, pass });
    else if (user) options.token = user;
    if (url.protocol === 'tls:') options.tls = {};
    servers.push(`${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${url.port || '4222'}`);
  }
  if (credsFile) options.authenticator = credsAuthenticator(readFileSync(credsFile));
  return { ...options, servers };
}

export class NatsBus extends EventEmitter<BusEvents> implements Bus {
  readonly kind = 'nats' as const;
  private state: BusStatus = 'connected';
  private subs = new Set<Subscription>();
  /** Publishes dropped while disconnected or refused by the client. */
  dropped = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {
    super();
    void this.watch();
  }

  static async connect(options: NatsBusOptions, log: Logger): Promise<NatsBus> {
    const nc = await connect({
      ...natsConnectionOptions(options.url, options.credsFile),
      name: options.name ?? 'onair',
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 500,
      reconnectJitter: 100,
      pingInterval: 5_000,
      maxPingOut: 2,
    });
    log.info({ server: nc.getServer() }, 'bus connected to NATS');
    return new NatsBus(nc, log);
  }

  get status(): BusStatus {
    return this.state;
  }

  private setState(s: BusStatus): void {
    if (this.state === s || this.state === 'closed') return;
    this.state = s;
    this.emit('status', s);
  }

  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') {
        if (this.state === 'connected') this.log.warn({ server: s.data }, 'bus lost NATS; reconnecting');
        this.setState('reconnecting');
      } else if (s.type === 'reconnect') {
        this.log.info({ server: s.data }, 'bus reconnected to NATS');
        this.setState('connected');
      }
    }
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.state !== 'connected') {
      this.dropped++;
      return;
    }
    try {
      this.nc.publish(subject, data);
    } catch {
      this.dropped++;
    }
  }

  subscribe(subject: string, handler: BusHandler, options: SubscribeOptions = {}): BusSubscription {
    return this.subscribeRaw(subject, options, (msg) => handler(msg.data, msg.subject));
  }

  async request(subject: string, data: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.state !== 'connected') throw new BusRequestError('disconnected', `NATS is ${this.state}`);
    try {
      const msg = await this.nc.request(subject, data, { timeout: options.timeoutMs, noMux: false });
      return checkReply(msg.data, subject);
    } catch (err) {
      if (err instanceof BusRequestError) throw err;
      if (err instanceof NatsError && err.code === ErrorCode.NoResponders)
        throw new BusRequestError('no_responders', `nobody answers ${subject}`);
      if (err instanceof NatsError && err.code === ErrorCode.Timeout) {
        throw new BusRequestError('timeout', `${subject}: no answer within ${options.timeoutMs} ms`);
      }
      throw new BusRequestError('disconnected', `${subject}: ${(err as Error).message}`);
    }
  }

  serve(subject: string, responder: BusResponder, options: SubscribeOptions = {}): BusSubscription {
    return this.subscribeRaw(subject, options, (msg) => {
      responder(msg.data, msg.subject)
        .then(
          (reply) => msg.respond(reply),
          (err: Error) => msg.respond(encodeRemoteError(err.message)),
        )
        .catch(() => {}); // the connection closed meanwhile: the requester times out
    });
  }

  private subscribeRaw(subject: string, options: SubscribeOptions, onMsg: (msg: Msg) => void): BusSubscription {
    const sub = this.nc.subscribe(subject, {
      queue: options.queue,
      callback: (err, msg) => {
        if (err) return;
        try {
          onMsg(msg);
        } catch (e) {
          this.log.error({ err: e, subject: msg.subject }, 'bus handler failed');
        }
      },
    });
    this.subs.add(sub);
    return {
      unsubscribe: () => {
        if (!this.subs.delete(sub)) return;
        if (!this.nc.isClosed()) sub.unsubscribe();
      },
    };
  }

  async flush(): Promise<void> {
    if (this.state === 'connected') await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.subs.clear();
    await this.nc.drain().catch(() => this.nc.close());
    this.emit('status', 'closed');
  }
}
