// Accounts: registration, sign-in and session tokens. Owns the users table's rules (name shape,
// password length, case-insensitive uniqueness). Never returns or logs a password or its hash, and
// never lets a caller tell "no such user" from "wrong password".
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import { badRequest, conflict, unauthorized } from '../errors.js';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, PasswordHasher, type ScryptParams } from './passwords.js';
import type { SignInThrottle } from './sign-in-throttle.js';
import { loadSigningSecret, SessionTokens, type AuthUser, type Role, type VerifiedToken } from './tokens.js';

export type { AuthUser, Role } from './tokens.js';

export interface User extends AuthUser {
  createdAt: Date;
}

export interface Session {
  user: AuthUser;
  token: string;
}

export interface AccountsOptions {
  /** Signing secret; when absent one is shared through the database (app_secrets). */
  jwtSecret?: string | undefined;
  jwtTtlSeconds: number;
  /** Clock in epoch milliseconds (tests move it to expire tokens). */
  nowMs?: () => number;
  scrypt?: ScryptParams;
  /** Failed sign-ins and registrations per account and address; none in unit tests that pass none. */
  throttle?: SignInThrottle;
}

/** Who is asking: the client's address (req.ip, after TRUST_PROXY), for throttling. */
export interface Requester {
  address: string;
}

export const USERNAME_PATTERN = /^[A-Za-z0-9_]{3,32}$/;
/**
 * Names nobody may register: they would pass for the platform or its staff in chat, tip alerts and
 * the directory (compared case-insensitively).
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'admin',
  'administrator',
  'root',
  'system',
  'onair',
  'onair_tv',
  'onair_official',
  'official',
  'staff',
  'support',
  'help',
  'helpdesk',
  'security',
  'moderator',
  'moderators',
  'mod',
  'mods',
  'owner',
  'streamer',
  'everyone',
  'here',
  'channel',
  'api',
  'www',
  'null',
  'undefined',
  'anonymous',
  'guest',
]);
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_CHARS = 128;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface UserRow {
  id: string;
  username: string;
  role: Role;
  password_hash: string;
  created_at: Date;
  token_version: number;
}

/** What a session is checked against on every use: the account as stored now. */
interface SessionState {
  version: number;
  role: Role;
  username: string;
}

/**
 * How long a node trusts its copy of an account's session state: a revocation or a role change made
 * on another node takes effect here within this time (at once on the node that made it).
 */
export const SESSION_CHECK_CACHE_MS = 5_000;

const INVALID_CREDENTIALS = 'wrong username or password';

export class Accounts {
  private dummyHash: Promise<string> | undefined;

  private readonly hasher: PasswordHasher;
  private readonly sessionStates = new Map<string, { state: SessionState | null; readAtMs: number }>();

  private constructor(
    private readonly db: Database,
    private readonly tokens: SessionTokens,
    private readonly scrypt: ScryptParams,
    private readonly throttle: SignInThrottle | undefined,
  ) {
    this.hasher = new PasswordHasher(scrypt);
  }

  static async open(db: Database, options: AccountsOptions): Promise<Accounts> {
    const secret = await loadSigningSecret(db, options.jwtSecret);
    const tokens = new SessionTokens({ secret, ttlSeconds: options.jwtTtlSeconds, nowMs: options.nowMs });
    return new Accounts(db, tokens, options.scrypt ?? DEFAULT_SCRYPT, options.throttle);
  }

  async register(username: string, password: string, from?: Requester): Promise<Session> {
    if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
      throw badRequest('invalid_username', 'a username is 3 to 32 letters, digits or underscores');
    }
    if (RESERVED_USERNAMES.has(username.toLowerCase())) throw badRequest('reserved_username', 'that username is reserved; choose another');
    const passwordChars = typeof password === 'string' ? [...password].length : 0;
    if (passwordChars < PASSWORD_MIN_CHARS || passwordChars > PASSWORD_MAX_CHARS) {
      throw badRequest('weak_password', `a password is ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters`);
    }
    const key = username.toLowerCase();
    // Cheap early answer; the ON CONFLICT below is what actually settles a race.
    const taken = await this.db.query('SELECT 1 FROM users WHERE username_key = $1', [key]);
    if (taken.length > 0) throw usernameTaken();
    if (from && this.throttle) await this.throttle.register(from.address);
    const passwordHash = await this.hasher.hash(password);
    const rows = await this.db.query<UserRow>(
      `INSERT INTO users (username, username_key, password_hash) VALUES ($1, $2, $3)
       ON CONFLICT (username_key) DO NOTHING
       RETURNING id, username, role, created_at, token_version`,
      [username, key, passwordHash],
    );
    const row = rows[0];
    if (!row) throw usernameTaken();
    return this.sessionFor(row);
  }

  async login(username: string, password: string, from?: Requester): Promise<Session> {
    const nameKey = typeof username === 'string' ? username.toLowerCase().slice(0, 64) : '';
    if (from && this.throttle) await this.throttle.beforeLogin(nameKey, from.address);
    const row =
      typeof username === 'string' && USERNAME_PATTERN.test(username)
        ? (await this.db.query<UserRow>('SELECT * FROM users WHERE username_key = $1', [username.toLowerCase()]))[0]
        : undefined;
    // Unknown users cost one scrypt too, so response time does not reveal which names exist.
    const stored = row?.password_hash ?? (await this.dummy());
    const ok = typeof password === 'string' && password.length <= 4 * PASSWORD_MAX_CHARS && (await this.hasher.verify(password, stored));
    if (!row || !ok) {
      if (from && this.throttle) await this.throttle.loginFailed(nameKey, from.address);
      throw unauthorized('invalid_credentials', INVALID_CREDENTIALS);
    }
    // A hash made at an older, lower cost is redone now that the password is at hand.
    if (needsRehash(row.password_hash, this.scrypt)) {
      const rehashed = await this.hasher.hash(password);
      await this.db.query('UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3', [
        row.id,
        rehashed,
        row.password_hash,
      ]);
    }
    return this.sessionFor(row);
  }

  /**
   * The user a bearer token speaks for, with the role stored now (a demoted admin is a user at
   * once); AppError 401 `invalid_token` / `token_expired`, or `session_revoked` after a sign-out
   * everywhere or a password change.
   */
  async verifyToken(token: string): Promise<AuthUser> {
    return (await this.verifySession(token)).user;
  }

  /** verifyToken with the token's session version and expiry (for connections that outlive a request). */
  async verifySession(token: string): Promise<VerifiedToken> {
    const verified = await this.tokens.verifyFull(token);
    const state = await this.sessionState(verified.user.id);
    if (!state) throw unauthorized('invalid_token', 'this account no longer exists');
    if (state.version !== verified.version) throw unauthorized('session_revoked', 'this session was signed out; sign in again');
    return { ...verified, user: { id: verified.user.id, username: state.username, role: state.role } };
  }

  /** Whether a session (a user at a token version) may still act: the account exists and has not revoked it. */
  async sessionCurrent(userId: string, version: number): Promise<boolean> {
    return (await this.sessionState(userId))?.version === version;
  }

  /** Signs the user out everywhere: every token issued so far stops working (on other nodes within SESSION_CHECK_CACHE_MS). */
  async signOutEverywhere(user: AuthUser): Promise<void> {
    await this.db.query('UPDATE users SET token_version = token_version + 1 WHERE id = $1', [user.id]);
    this.sessionStates.delete(user.id);
  }

  /** Changes the password (the current one is required) and revokes every other session; returns a fresh one. */
  async changePassword(user: AuthUser, currentPassword: unknown, newPassword: unknown, from?: Requester): Promise<Session> {
    const chars = typeof newPassword === 'string' ? [...newPassword].length : 0;
    if (typeof newPassword !== 'string' || chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS) {
      throw badRequest('weak_password', `a password is ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters`);
    }
    const nameKey = user.username.toLowerCase();
    if (from && this.throttle) await this.throttle.beforeLogin(nameKey, from.address);
    const row = (await this.db.query<UserRow>('SELECT * FROM users WHERE id = $1', [user.id]))[0];
    if (!row) throw unauthorized('invalid_token', 'this account no longer exists');
    const ok =
      typeof currentPassword === 'string' &&
      currentPassword.length <= 4 * PASSWORD_MAX_CHARS &&
      (await this.hasher.verify(currentPassword, row.password_hash));
    if (!ok) {
      if (from && this.throttle) await this.throttle.loginFailed(nameKey, from.address);
      throw unauthorized('invalid_credentials', 'the current password is wrong');
    }
    const hash = await this.hasher.hash(newPassword);
    const updated = await this.db.query<UserRow>(
      'UPDATE users SET password_hash = $2, token_version = token_version + 1 WHERE id = $1 RETURNING *',
      [user.id, hash],
    );
    this.sessionStates.delete(user.id);
    if (!updated[0]) throw unauthorized('invalid_token', 'this account no longer exists');
    return this.sessionFor(updated[0]);
  }

  /**
   * Of these sessions (long-lived connections), the users whose session was revoked or whose account
   * is gone: one query for every user not read within SESSION_CHECK_CACHE_MS.
   */
  async revokedAmong(sessions: readonly { userId: string; version: number }[]): Promise<Set<string>> {
    const now = Date.now();
    const stale = [...new Set(sessions.map((x) => x.userId))].filter((id) => UUID_PATTERN.test(id) && !this.freshSession(id, now));
    if (stale.length > 0) await this.readSessionStates(stale, now);
    const revoked = new Set<string>();
    for (const x of sessions) if (this.sessionStates.get(x.userId)?.state?.version !== x.version) revoked.add(x.userId);
    return revoked;
  }

  private async sessionState(userId: string): Promise<SessionState | null> {
    const now = Date.now();
    if (!UUID_PATTERN.test(userId)) return null;
    if (!this.freshSession(userId, now)) await this.readSessionStates([userId], now);
    return this.sessionStates.get(userId)?.state ?? null;
  }

  private freshSession(userId: string, now: number): boolean {
    const cached = this.sessionStates.get(userId);
    return cached !== undefined && now - cached.readAtMs < SESSION_CHECK_CACHE_MS;
  }

  /** Reads these accounts' session state into the cache in one query (null for an account that is gone). */
  private async readSessionStates(ids: string[], now: number): Promise<void> {
    const rows = await this.db.query<{ id: string; token_version: number; role: Role; username: string }>(
      'SELECT id::text AS id, token_version, role, username FROM users WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const found = new Map(rows.map((r) => [r.id, r]));
    if (this.sessionStates.size + ids.length > 100_000) this.sessionStates.clear(); // bounded: it is only a cache
    for (const id of ids) {
      const r = found.get(id);
      this.sessionStates.set(id, { state: r ? { version: r.token_version, role: r.role, username: r.username } : null, readAtMs: now });
    }
  }

  async getUser(id: string): Promise<User | null> {
    if (!UUID_PATTERN.test(id)) return null;
    const rows = await this.db.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findByUsername(username: string): Promise<User | null> {
    const rows = await this.db.query<UserRow>('SELECT * FROM users WHERE username_key = $1', [username.toLowerCase()]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  private async sessionFor(row: Pick<UserRow, 'id' | 'username' | 'role' | 'token_version'>): Promise<Session> {
    const user: AuthUser = { id: row.id, username: row.username, role: row.role };
    return { user, token: await this.tokens.sign(user, row.token_version) };
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex'), this.scrypt);
    return this.dummyHash;
  }
}

function usernameTaken() {
  return conflict('username_taken', 'that username is already taken');
}

function toUser(row: UserRow): User {
  return { id: row.id, username: row.username, role: row.role, createdAt: row.created_at };
}
