// The one SQL interface OnAir's domain modules use. Two adapters implement it with the same SQL
// dialect and the same migrations: PostgreSQL (postgres.js, when DATABASE_URL is set) and embedded
// PostgreSQL (PGlite, stored under DATA_DIR). Domain code never imports a driver directly.
// A server that cannot be reached, or a connection lost mid-way (a PostgreSQL restart), fails the
// call with DatabaseUnavailable (AppError 503 `database_unavailable`, db/failures.ts) and nothing
// else: no uncaught exception, no statement run later on another connection.

export interface Queryable {
  /** Runs one parameterised statement ($1, $2, ...) and returns its rows. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/** What an adapter can do, so that domain code asks for a capability instead of an adapter's name. */
export interface DatabaseCapabilities {
  /** Connections that can run statements at once (PGlite: one). */
  maxConcurrentConnections: number;
  /** Only this process uses the database (embedded): state left by an earlier run of it can be cleared at start. */
  singleNode: boolean;
}

export interface Database extends Queryable {
  /** For logs and operators; domain code reads `capabilities`. */
  readonly kind: 'postgres' | 'embedded';
  readonly capabilities: DatabaseCapabilities;
  /**
   * Runs fn in one transaction: commits when it resolves, rolls back when it throws (or when one of
   * its statements failed, even if fn caught that). A DatabaseUnavailable from the COMMIT itself
   * leaves the outcome unknown (it may have committed): work that is retried must be idempotent.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the database answers a trivial query (used by /readyz). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
