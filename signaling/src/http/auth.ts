// Who is calling: reads `Authorization: Bearer <token>` and asks Accounts to verify it. The HTTP edge
// only; never decides what a user may do (domain modules do) and never logs the token.
import type { FastifyRequest } from 'fastify';
import { unauthorized, type Accounts, type AuthUser } from '@onair/platform';

/** The bearer token of a request, or undefined when there is none. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The signed-in user; AppError 401 `not_signed_in` without a token, `invalid_token`/`token_expired` for a bad one. */
export async function requireUser(req: FastifyRequest, accounts: Accounts): Promise<AuthUser> {
  const token = bearerToken(req);
  if (!token) throw unauthorized('not_signed_in', 'sign in first (Authorization: Bearer <token>)');
  return accounts.verifyToken(token);
}

/** The signed-in user, or null for an anonymous request. A token that is present but bad is still a 401. */
export async function optionalUser(req: FastifyRequest, accounts: Accounts): Promise<AuthUser | null> {
  const token = bearerToken(req);
  return token ? accounts.verifyToken(token) : null;
}
