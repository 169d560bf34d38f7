// Session tokens: short-lived HS256 JWTs `{sub, name, role, ver}` issued by "onair" (`ver`: the user's
// token version when issued, which revocation raises; see Accounts). Every node must sign
// with the same secret, so without JWT_SECRET the secret is created once in app_secrets and shared
// through the database. Never accepts another algorithm or an unsigned token, never logs a token.
import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Queryable } from '../db/database.js';
import { unauthorized } from '../errors.js';

export type Role = 'user' | 'admin';

/** Who is making a request, as proven by a verified token. */
export interface AuthUser {
  id: string;
  username: string;
  role: Role;
}

const ISSUER = 'onair';
const ALGORITHM = 'HS256';
const SECRET_NAME = 'jwt_signing_secret';

/** The configured secret, or the one stored in the database (created by whichever node is first). */
export async function loadSigningSecret(db: Queryable, configured: string | undefined): Promise<Uint8Array> {
  if (configured) return new TextEncoder().encode(configured);
  const candidate = randomBytes(32).toString('base64url');
  await db.query('INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [SECRET_NAME, candidate]);
  const rows = await db.query<{ value: string }>('SELECT value FROM app_secrets WHERE name = $1', [SECRET_NAME]);
  const stored = rows[0]?.value;
  if (!stored) throw new Error('app_secrets lost the JWT signing secret');
  return new TextEncoder().encode(stored);
}

export interface SessionTokenOptions {
  secret: Uint8Array;
  ttlSeconds: number;
  /** The clock, in epoch milliseconds; tests move it forward to expire tokens. */
  nowMs?: () => number;
}

/** A verified token's contents: who, their session version, and when the token expires. */
export interface VerifiedToken {
  user: AuthUser;
  version: number;
  expiresAtMs: number;
}

export class SessionTokens {
  private readonly nowMs: () => number;

  constructor(private readonly options: SessionTokenOptions) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  sign(user: AuthUser, version = 0): Promise<string> {
    const nowSeconds = Math.floor(this.nowMs() / 1000);
    return new SignJWT({ name: user.username, role: user.role, ver: version })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(user.id)
      .setIssuer(ISSUER)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.options.ttlSeconds)
      .sign(this.options.secret);
  }

  /** The user a token speaks for; AppError 401 `token_expired` or `invalid_token` otherwise. */
  async verify(token: string): Promise<AuthUser> {
    return (await this.verifyFull(token)).user;
  }

  /** The token's user, session version (0 for tokens from before versions) and expiry. */
  async verifyFull(token: string): Promise<VerifiedToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.options.secret, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(this.nowMs()),
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthorized('token_expired', 'the session has expired; sign in again');
      throw unauthorized('invalid_token', 'the session token is not valid');
    }
    const { sub, name, role, exp } = payload;
    const ver = payload.ver ?? 0;
    if (typeof sub !== 'string' || typeof name !== 'string' || (role !== 'user' && role !== 'admin') || !Number.isSafeInteger(ver)) {
      throw unauthorized('invalid_token', 'the session token is not valid');
    }
    return { user: { id: sub, username: name, role }, version: ver as number, expiresAtMs: (exp ?? 0) * 1000 };
  }
}
