// Wallet top-ups. With Stripe: `create` opens a PaymentIntent and records it; the wallet is credited
// only by `applyWebhook`, after the Stripe-Signature of the raw body checks out, each event id once
// (stripe_events), each PaymentIntent once (topups.status). Refunds and disputes post reversing
// transfers: from the wallet as far as its balance goes, the rest to the write-off account (a wallet
// never goes below zero). Without a Stripe key, where TEST_FUNDS allows (loopback only by default), a development provider credits
// test funds at once and says so in every answer. Never credits money a verified event did not
// announce, and never logs keys or signatures.
import Stripe from 'stripe';
import type { AuthUser } from '../accounts/tokens.js';
import type { Database, Queryable } from '../db/database.js';
import { AppError, badRequest, conflict } from '../errors.js';
import type { Logger } from '../log.js';
import { minorUnits, type Wallets } from '../ledger/wallets.js';

export type TopUpProvider = 'stripe' | 'development' | 'unavailable';

export interface TopUpOptions {
  minAmount: number;
  maxAmount: number;
  /** Stripe client and webhook signing secret; absent = no card payments. */
  stripe?: { client: Stripe; webhookSecret: string };
  /** Without Stripe, whether the development provider credits free test funds (config TEST_FUNDS). */
  testFunds: boolean;
}

export type TopUpResult =
  | { provider: 'stripe'; paymentIntentId: string; clientSecret: string; amount: number; currency: string; status: 'pending' }
  | { provider: 'development'; testFunds: true; notice: string; amount: number; currency: string; status: 'credited'; balance: number };

export interface WebhookResult {
  eventId: string;
  type: string;
  /** False for a replayed event id (nothing changed). */
  applied: boolean;
}

const DEV_NOTICE = 'development payment provider: test funds were credited and no card was charged (off on public addresses: TEST_FUNDS)';

/** Builds the Stripe client from config; apiUrl points it at another host (tests use a local stand-in). */
export function createStripeClient(secretKey: string, apiUrl?: string): Stripe {
  const url = apiUrl ? new URL(apiUrl) : undefined;
  return new Stripe(secretKey, {
    maxNetworkRetries: 2,
    timeout: 20_000,
    telemetry: false,
    ...(url
      ? {
          host: url.hostname,
          port: url.port || (url.protocol === 'https:' ? 443 : 80),
          protocol: url.protocol === 'http:' ? 'http' : 'https',
        }
      : {}),
  });
}

export class TopUps {
  readonly provider: TopUpProvider;

  constructor(
    private readonly db: Database,
    private readonly wallets: Wallets,
    private readonly options: TopUpOptions,
    private readonly log: Logger,
  ) {
    this.provider = options.stripe ? 'stripe' : options.testFunds ? 'development' : 'unavailable';
  }

  /**
   * Starts a top-up. With an idempotencyKey, Stripe answers a repeated request (a double click, a
   * retry) with the same PaymentIntent, so one top-up can never become two charges.
   */
  async create(user: AuthUser, amountInput: unknown, currencyInput?: unknown, idempotencyKey?: string): Promise<TopUpResult> {
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) {
      throw badRequest('invalid_idempotency_key', 'the Idempotency-Key is 1 to 200 printable ASCII characters');
    }
    const amount = this.parseAmount(amountInput);
    const currency = this.wallets.currency;
    if (
      currencyInput !== undefined &&
      currencyInput !== null &&
      (typeof currencyInput !== 'string' || currencyInput.toUpperCase() !== currency)
    ) {
      throw badRequest('unsupported_currency', `top-ups are in ${currency}`);
    }
    if (this.provider === 'unavailable') throw new AppError(503, 'payments_unavailable', 'card payments are not configured on this server');
    if (this.provider === 'development') return this.creditTestFunds(user, amount);

    const stripe = this.options.stripe!.client;
    let intent: Stripe.PaymentIntent;
    try {
      intent = await stripe.paymentIntents.create(
        {
          amount,
          currency: currency.toLowerCase(),
          automatic_payment_methods: { enabled: true },
          metadata: { onair_user_id: user.id },
          description: 'OnAir wallet top-up',
        },
        idempotencyKey ? { idempotencyKey: `onair-topup:${user.id}:${idempotencyKey}` } : undefined,
      );
    } catch (err) {
      this.log.warn({ err: String(err), userId: user.id }, 'Stripe refused to create a PaymentIntent');
      throw new AppError(502, 'payment_provider_error', 'the payment provider could not be reached; try again');
    }
    await this.db.query(
      `INSERT INTO topups (payment_intent_id, user_id, amount, currency) VALUES ($1, $2, $3, $4)
       ON CONFLICT (payment_intent_id) DO NOTHING`,
      [intent.id, user.id, amount, currency],
    );
    this.log.info({ userId: user.id, paymentIntentId: intent.id, amount }, 'top-up started');
    return {
      provider: 'stripe',
      paymentIntentId: intent.id,
      clientSecret: intent.client_secret ?? '',
      amount,
      currency,
      status: 'pending',
    };
  }

  /**
   * Verifies and applies one Stripe webhook delivery. AppError 400 `invalid_signature` when the
   * signature does not match the raw body (or is too old); a replayed event id changes nothing.
   */
  async applyWebhook(rawBody: Buffer | string, signature: string | undefined): Promise<WebhookResult> {
    if (!this.options.stripe) throw new AppError(404, 'not_found', 'Stripe is not configured on this server');
    let event: Stripe.Event;
    try {
      if (!signature) throw new Error('no Stripe-Signature header');
      event = this.options.stripe.client.webhooks.constructEvent(rawBody, signature, this.options.stripe.webhookSecret);
    } catch {
      throw badRequest('invalid_signature', 'the Stripe-Signature does not match this payload');
    }
    // Open (or find) every account the event can touch before the transaction: inside it, the
    // lookups below are answered from Wallets' cache (the embedded store has one connection, so a
    // statement outside the transaction would wait for it forever).
    await this.wallets.systemAccount('stripe_clearing');
    await this.wallets.systemAccount('write_off');
    const userId = await this.userOf(event);
    if (userId) await this.wallets.userAccount('wallet', userId);
    const applied = await this.db.transaction(async (tx) => {
      const fresh = await tx.query('INSERT INTO stripe_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id', [
        event.id,
        event.type,
      ]);
      if (fresh.length === 0) return false;
      await this.apply(tx, event);
      return true;
    });
    this.log.info({ eventId: event.id, type: event.type, applied }, applied ? 'Stripe event applied' : 'Stripe event replayed; ignored');
    return { eventId: event.id, type: event.type, applied };
  }

  /** The OnAir user an event's money belongs to, when it is one of ours. */
  private async userOf(event: Stripe.Event): Promise<string | null> {
    if (event.type === 'payment_intent.succeeded') {
      const id = event.data.object.metadata?.onair_user_id;
      return id && /^[0-9a-f-]{36}$/i.test(id) ? id : null;
    }
    let piId: string | null = null;
    if (event.type === 'charge.refunded') piId = idOf(event.data.object.payment_intent);
    else if (event.type === 'charge.dispute.funds_withdrawn' || event.type === 'charge.dispute.funds_reinstated')
      piId = idOf(event.data.object.payment_intent);
    if (!piId) return null;
    const rows = await this.db.query<{ user_id: string }>('SELECT user_id::text AS user_id FROM topups WHERE payment_intent_id = $1', [
      piId,
    ]);
    return rows[0]?.user_id ?? null;
  }

  private async apply(tx: Queryable, event: Stripe.Event): Promise<void> {
    switch (event.type) {
      case 'payment_intent.succeeded': {
        const pi = event.data.object;
        if (pi.currency.toUpperCase() !== this.wallets.currency) {
          this.log.error({ paymentIntentId: pi.id, currency: pi.currency }, 'PaymentIntent in a foreign currency; not credited');
          return;
        }
        const userId = pi.metadata?.onair_user_id;
        if (!userId || !/^[0-9a-f-]{36}$/i.test(userId)) {
          this.log.warn({ paymentIntentId: pi.id }, 'PaymentIntent without onair_user_id; not an OnAir top-up');
          return;
        }
        const amount = pi.amount_received || pi.amount;
        // Whether or not `create` recorded it yet (the webhook may win that race), it succeeds once.
        const rows = await tx.query(
          `INSERT INTO topups (payment_intent_id, user_id, amount, currency, status) VALUES ($1, $2, $3, $4, 'succeeded')
           ON CONFLICT (payment_intent_id) DO UPDATE SET status = 'succeeded', amount = EXCLUDED.amount, updated_at = now()
             WHERE topups.status = 'pending' AND topups.user_id = EXCLUDED.user_id
           RETURNING payment_intent_id`,
          [pi.id, userId, amount, this.wallets.currency],
        );
        if (rows.length === 0) return; // already credited by another event
        const [clearing, wallet] = [
          await this.wallets.systemAccount('stripe_clearing', 0),
          await this.wallets.userAccount('wallet', userId),
        ];
        await this.wallets.post(tx, {
          kind: 'topup',
          debitAccountId: clearing,
          creditAccountId: wallet,
          amount,
          currency: this.wallets.currency,
          externalRef: pi.id,
        });
        return;
      }
      case 'charge.refunded': {
        const charge = event.data.object;
        const topup = await this.lockTopUp(tx, charge.payment_intent);
        if (!topup) return;
        const delta = charge.amount_refunded - topup.refunded;
        if (delta <= 0) return;
        await tx.query('UPDATE topups SET amount_refunded = $2, updated_at = now() WHERE payment_intent_id = $1', [
          topup.paymentIntentId,
          charge.amount_refunded,
        ]);
        await this.reverse(tx, topup.userId, delta, event.id);
        return;
      }
      case 'charge.dispute.funds_withdrawn': {
        const dispute = event.data.object;
        const topup = await this.lockTopUp(tx, dispute.payment_intent);
        if (!topup) return;
        await tx.query('UPDATE topups SET amount_disputed = amount_disputed + $2, updated_at = now() WHERE payment_intent_id = $1', [
          topup.paymentIntentId,
          dispute.amount,
        ]);
        await this.reverse(tx, topup.userId, dispute.amount, event.id);
        return;
      }
      case 'charge.dispute.funds_reinstated': {
        const dispute = event.data.object;
        const topup = await this.lockTopUp(tx, dispute.payment_intent);
        if (!topup) return;
        const amount = Math.min(dispute.amount, topup.disputed);
        if (amount <= 0) return;
        await tx.query('UPDATE topups SET amount_disputed = amount_disputed - $2, updated_at = now() WHERE payment_intent_id = $1', [
          topup.paymentIntentId,
          amount,
        ]);
        const [clearing, wallet] = [
          await this.wallets.systemAccount('stripe_clearing', 0),
          await this.wallets.userAccount('wallet', topup.userId),
        ];
        await this.wallets.post(tx, {
          kind: 'dispute_reinstated',
          debitAccountId: clearing,
          creditAccountId: wallet,
          amount,
          currency: this.wallets.currency,
          externalRef: event.id,
        });
        return;
      }
      default:
        return; // other events are acknowledged and recorded, nothing else
    }
  }

  /** Takes `amount` back to Stripe: from the wallet as far as it goes, the rest written off. */
  private async reverse(tx: Queryable, userId: string, amount: number, ref: string): Promise<void> {
    const currency = this.wallets.currency;
    const [clearing, writeOff, wallet] = [
      await this.wallets.systemAccount('stripe_clearing', 0),
      await this.wallets.systemAccount('write_off', 0),
      await this.wallets.userAccount('wallet', userId),
    ];
    await tx.query('SELECT id FROM ledger_accounts WHERE id = $1 FOR UPDATE', [wallet]);
    const fromWallet = Math.min(amount, await this.wallets.balanceOf(tx, wallet));
    if (fromWallet > 0)
      await this.wallets.post(tx, {
        kind: 'topup_reversal',
        debitAccountId: wallet,
        creditAccountId: clearing,
        amount: fromWallet,
        currency,
        externalRef: ref,
      });
    if (amount > fromWallet) {
      await this.wallets.post(tx, {
        kind: 'topup_reversal',
        debitAccountId: writeOff,
        creditAccountId: clearing,
        amount: amount - fromWallet,
        currency,
        externalRef: ref,
      });
      this.log.warn({ userId, shortfall: amount - fromWallet, ref }, 'reversal exceeded the wallet balance; the rest was written off');
    }
  }

  /**
   * The succeeded top-up a Stripe object refers to (by its payment_intent), locked for update; null
   * when the PaymentIntent is not an OnAir top-up. A top-up whose payment_intent.succeeded has not
   * been applied yet (Stripe does not deliver in order, and a 503 makes it deliver that one later)
   * refuses the event with 409 `topup_not_credited`: nothing is recorded, Stripe delivers it again,
   * and it applies after the credit instead of being lost before it.
   */
  private async lockTopUp(
    tx: Queryable,
    paymentIntent: string | { id: string } | null | undefined,
  ): Promise<{ paymentIntentId: string; userId: string; refunded: number; disputed: number } | null> {
    const piId = idOf(paymentIntent);
    if (!piId) return null;
    const rows = await tx.query<{ user_id: string; status: string; amount_refunded: string; amount_disputed: string }>(
      `SELECT user_id::text AS user_id, status, amount_refunded::text AS amount_refunded, amount_disputed::text AS amount_disputed
       FROM topups WHERE payment_intent_id = $1 FOR UPDATE`,
      [piId],
    );
    const r = rows[0];
    if (!r) return null;
    if (r.status !== 'succeeded') {
      throw conflict(
        'topup_not_credited',
        'this top-up has not been credited yet (its payment_intent.succeeded comes first); deliver this event again later',
      );
    }
    return { paymentIntentId: piId, userId: r.user_id, refunded: minorUnits(r.amount_refunded), disputed: minorUnits(r.amount_disputed) };
  }

  private async creditTestFunds(user: AuthUser, amount: number): Promise<TopUpResult> {
    const currency = this.wallets.currency;
    await this.wallets.systemAccount('dev_faucet');
    await this.wallets.userAccount('wallet', user.id); // opened before the transaction (see applyWebhook)
    const balance = await this.db.transaction(async (tx) => {
      const [faucet, wallet] = [await this.wallets.systemAccount('dev_faucet', 0), await this.wallets.userAccount('wallet', user.id)];
      await this.wallets.post(tx, { kind: 'dev_credit', debitAccountId: faucet, creditAccountId: wallet, amount, currency });
      return this.wallets.balanceOf(tx, wallet);
    });
    this.log.info({ userId: user.id, amount }, 'development provider credited test funds');
    return { provider: 'development', testFunds: true, notice: DEV_NOTICE, amount, currency, status: 'credited', balance };
  }

  private parseAmount(value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw badRequest('invalid_amount', 'amount must be a JSON number in minor units (cents)');
    if (!Number.isInteger(value))
      throw badRequest('invalid_amount', 'amount must be a whole number of minor units (cents), not a fraction');
    if (value <= 0) throw badRequest('invalid_amount', 'amount must be positive');
    if (value < this.options.minAmount)
      throw badRequest('amount_too_small', `the smallest top-up is ${this.options.minAmount} (minor units)`);
    if (value > this.options.maxAmount)
      throw badRequest('amount_too_large', `the largest top-up is ${this.options.maxAmount} (minor units)`);
    return value;
  }
}

function idOf(ref: string | { id: string } | null | undefined): string | null {
  if (!ref) return null;
  return typeof ref === 'string' ? ref : ref.id;
}
