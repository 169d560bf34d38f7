// Accounts: registration, sign-in and session tokens. Owns the users table's rules (name shape,
// password length, case-insensitive uniqueness). Never returns or logs a password or its hash, and
// never lets a caller tell "no such user" from "wrong password".
import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.js';
import { badRequest, conflict, unauthorized } from '../errors.js';
import { DEFAULT_SCRYPT, hashPassword, needsRehash, PasswordHasher, type ScryptParams } from './passwords.js';
import type { SignInThrottle } from './sign-in-throttle.js';
import { loadSigningSecret, SessionTokens, type AuthUser, type Role } from './tokens.js';

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
}

const INVALID_CREDENTIALS = 'wrong username or password';

export class Accounts {
  private dummyHash: Promise<string> | undefined;

  private readonly hasher: PasswordHasher;

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
       RETURNING id, username, role, created_at`,
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

  /** The user a bearer token speaks for; AppError 401 `invalid_token` / `token_expired`. */
  verifyToken(token: string): Promise<AuthUser> {
    return this.tokens.verify(token);
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

  private async sessionFor(row: Pick<UserRow, 'id' | 'username' | 'role'>): Promise<Session> {
    const user: AuthUser = { id: row.id, username: row.username, role: row.role };
    return { user, token: await this.tokens.sign(user) };
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
