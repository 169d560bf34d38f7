// What a database failure means for the caller: the server or the connection went away (a restart, a
// crash, a network cut: try again later), or a concurrency conflict the same work may simply be tried
// again for (serialization failure, deadlock), or anything else (a bug or bad data: not retryable).
// The PostgreSQL adapter reports the first kind as DatabaseUnavailable (AppError 503). Never retries
// anything itself and never hides a failure that is not about availability.
import { AppError } from '../errors.js';

/** AppError 503 `database_unavailable`: the database could not be reached or lost the connection. */
export class DatabaseUnavailable extends AppError {
  constructor(override readonly cause: unknown) {
    super(503, 'database_unavailable', 'the database is unavailable; retry shortly');
    this.name = 'DatabaseUnavailable';
  }
}

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
// postgres.js's own codes for a connection that closed, ended or never opened in time.
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/**
 * True when the failure is about the server being reachable, not about the statement: SQLSTATE
 * class 08 (connection exception), 57P (shut down by an operator or a crash, starting up), 53
 * (out of connections, memory or disk), socket errors, postgres.js connection codes, or an
 * already-classified DatabaseUnavailable.
 */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof DatabaseUnavailable) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return /^(08|57P|53)/.test(code) || CONNECTION_ERRNOS.has(code) || DRIVER_CODES.has(code);
}

/** Connection failures plus conflicts that a second attempt of the same work resolves (40001, 40P01). */
export function isRetryable(err: unknown): boolean {
  if (isConnectionFailure(err)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/**
 * True for SQLSTATE class 22 (data exception): a value the statement could not take (a NUL byte or
 * invalid UTF-8 in text, a malformed uuid, a number out of range). It comes from input that passed
 * the edge's checks, so it is the client's: the HTTP edge answers 400 `invalid_input`, not 500.
 */
export function isDataException(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown; name?: unknown } | null;
  return typeof e?.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code) && (e.name === 'PostgresError' || typeof e.severity === 'string');
}
