// PostgreSQL connections for the postgres adapter, each one a single-connection postgres.js client
// that is thrown away, never reconnected, once its connection closes. postgres.js 3.4.9 (the latest
// release) reuses a connection's internal state after a connection loss: a dead connection keeps its
// half-written buffer, its write timer, its in-flight query and its last error, and `sql.begin`
// writes its ROLLBACK to a connection whose socket is already gone. Seen under a PostgreSQL restart:
// an uncaught TypeError from a setImmediate callback (connection.js nextWrite, "reading 'write'" of
// null; porsager/postgres#1154, #1208), pools whose reconnects never send their startup message
// (CONNECT_TIMEOUT forever), stale "shutting down" errors long after the server is back, and
// transaction statements that could run on the reconnected session outside their transaction.
// So this module never uses `sql.begin`, never writes to a client after its connection closed
// (postgres.js's `onclose` marks it retired synchronously, before any caller resumes), and replaces
// a retired client with a fresh one. Never retries a statement: callers decide (see db/failures.ts).
// One more postgres.js fault cannot be avoided from here: the array-type query it runs on every new
// connection is never awaited, so a connection lost during it was an unhandled rejection that ended
// the process; scripts/patch-postgres-js.mjs (postinstall) routes it to the connection's error path.
import postgres from 'postgres';
import { isConnectionFailure } from './failures.js';

type Params = postgres.ParameterOrJSON<never>[];

export interface ConnectionOptions {
  connectTimeoutSeconds: number;
}

/** One server connection (opened on first use). After it closes, every statement fails at once. */
export class PgConnection {
  retired = false;
  /** Statements sent and not yet answered (the pool sends new ones to the least busy connection). */
  inFlight = 0;
  private readonly sql: postgres.Sql;
  private readonly lost: Promise<never>;
  private lose!: (err: unknown) => void;

  constructor(url: string, options: ConnectionOptions) {
    this.lost = new Promise<never>((_, reject) => (this.lose = reject));
    this.lost.catch(() => {}); // observed through run() only
    this.sql = postgres(url, {
      max: 1,
      connect_timeout: options.connectTimeoutSeconds,
      // No rotation by age (nor by idleness, postgres.js's default): postgres.js would end the
      // connection while a statement of ours is queued for it, and that statement would fail for no
      // reason. A client is replaced only when its connection is actually lost.
      max_lifetime: null,
      onnotice: () => {}, // "already exists, skipping" and the like are not events worth a log line
      // Called synchronously when the socket closes (server restart, network cut, failed connect), before
      // any awaiting caller runs again: from here on nothing may be written to this client.
      onclose: () => this.retire(connectionClosed()),
    });
  }

  /** Runs one statement; rejects as soon as the connection is lost, whatever postgres.js does next. */
  async run<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    if (this.retired) throw connectionClosed();
    this.inFlight++;
    try {
      const rows = await Promise.race([this.sql.unsafe(text, (params ?? []) as Params), this.lost]);
      return rows as unknown as T[];
    } catch (err) {
      if (isConnectionFailure(err)) this.retire(err);
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  /** Stops using this client: pending statements fail now, its socket is destroyed. Idempotent. */
  retire(reason: unknown = connectionClosed()): void {
    if (this.retired) return;
    this.retired = true;
    this.lose(reason);
    // Destroys at once (timeout 0) and rejects whatever postgres.js still holds for it.
    void this.sql.end({ timeout: 0 }).catch(() => {});
  }

  /** Lets pending statements finish (up to timeoutSeconds), then closes. */
  async close(timeoutSeconds: number): Promise<void> {
    this.retired = true;
    await this.sql.end({ timeout: timeoutSeconds }).catch(() => {});
  }
}

/**
 * A fixed number of shared connections for single statements (each statement is its own
 * transaction) and up to `transactionSize` connections lent out one transaction at a time.
 */
export class PgConnections {
  private readonly shared: (PgConnection | undefined)[];
  private readonly idleForTransactions: PgConnection[] = [];
  private lent = 0;
  private readonly waiting: { resolve(c: PgConnection): void; reject(err: unknown): void }[] = [];
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly options: ConnectionOptions & { size: number; transactionSize: number },
  ) {
    this.shared = new Array<PgConnection | undefined>(options.size).fill(undefined);
  }

  /**
   * Runs one statement on the least busy shared connection; opens another (up to `size`) when all
   * open ones are busy, and a fresh one in place of a retired one.
   */
  query<T>(text: string, params?: readonly unknown[]): Promise<T[]> {
    if (this.closed) return Promise.reject(connectionClosed());
    let best: PgConnection | undefined;
    let empty = -1;
    for (let i = 0; i < this.shared.length; i++) {
      let c = this.shared[i];
      if (c?.retired) c = this.shared[i] = undefined;
      if (!c) {
        if (empty < 0) empty = i;
      } else if (!best || c.inFlight < best.inFlight) {
        best = c;
      }
    }
    if (!best || (best.inFlight > 0 && empty >= 0)) {
      best = new PgConnection(this.url, this.options);
      this.shared[empty] = best;
    }
    return best.run<T>(text, params);
  }

  /** A connection for one transaction, for the caller alone until it is given back. */
  async lend(): Promise<PgConnection> {
    if (this.closed) throw connectionClosed();
    for (let c = this.idleForTransactions.pop(); c; c = this.idleForTransactions.pop()) {
      if (!c.retired) {
        this.lent++;
        return c;
      }
    }
    if (this.lent < this.options.transactionSize) {
      this.lent++;
      return new PgConnection(this.url, this.options);
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Takes a lent connection back (a retired one is replaced by a fresh one for the next borrower). */
  giveBack(c: PgConnection): void {
    const next = this.waiting.shift();
    if (next) {
      next.resolve(c.retired ? new PgConnection(this.url, this.options) : c);
      return;
    }
    this.lent--;
    if (this.closed) void c.close(0);
    else if (!c.retired) this.idleForTransactions.push(c);
  }

  async close(timeoutSeconds: number): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(connectionClosed());
    const all = [...this.shared, ...this.idleForTransactions.splice(0)].filter((c): c is PgConnection => c !== undefined);
    await Promise.all(all.map((c) => c.close(timeoutSeconds)));
  }
}

/** The error a statement gets when its connection is (or was already) gone. */
function connectionClosed(): Error {
  return Object.assign(new Error('the database connection was lost'), { code: 'CONNECTION_CLOSED' });
}
