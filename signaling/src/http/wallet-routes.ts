// HTTP routes for the signed-in user's wallet: `GET /api/wallet` (spendable balance, plus what they
// earned from tips) and `POST /api/wallet/topups` (a Stripe PaymentIntent, or test funds from the
// development provider). Parses and authenticates, then calls Wallets/TopUps; never credits a
// wallet itself (only the verified Stripe webhook or the development provider do).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { whileAvailable, type Accounts, type TopUps, type Wallets } from '@onair/platform';
import { requireUser } from './auth.js';
import { parseBody } from './validate.js';

export interface WalletRouteDeps {
  accounts: Accounts;
  wallets: Wallets;
  topups: TopUps;
}

const TopUpBody = z.object({ amount: z.unknown().optional(), currency: z.unknown().optional() }, 'the body is a JSON object');

export function registerWalletRoutes(app: FastifyInstance, deps: WalletRouteDeps): void {
  const { accounts, wallets, topups } = deps;

  app.get('/api/wallet', async (req) => {
    const user = await requireUser(req, accounts);
    const [balance, earnings] = await whileAvailable(() => Promise.all([wallets.balance(user.id), wallets.balance(user.id, 'earnings')]));
    return { balance, currency: wallets.currency, earnings, topups: { provider: topups.provider } };
  });

  app.post('/api/wallet/topups', async (req, reply) => {
    const user = await requireUser(req, accounts);
    const body = parseBody(TopUpBody, req.body);
    const header = req.headers['idempotency-key'];
    const key = Array.isArray(header) ? header[0] : header;
    const result = await whileAvailable(() => topups.create(user, body.amount, body.currency, key || undefined));
    reply.code(201);
    return result;
  });
}
