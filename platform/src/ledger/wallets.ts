// Ledger accounts and the postings that are not tips: finds or opens a user's wallet and earnings
// accounts and the system accounts (platform fee shards, Stripe clearing, write-off, dev faucet),
// reads balances, and posts single transfers (top-ups, reversals, test credits) inside a caller's
// transaction. Never changes a balance except together with the ledger_transfers row that explains
// it, never lets a wallet go below zero, and never formats money as a float.
import type { Database, Queryable } from '../db/database.js';
import { AppError } from '../errors.js';

export type AccountKind = 'wallet' | 'earnings' | 'platform_fee' | 'stripe_clearing' | 'write_off' | 'dev_faucet';
export type UserAccountKind = 'wallet' | 'earnings';
export type SystemAccountKind = Exclude<AccountKind, UserAccountKind>;
export type TransferKind = 'tip' | 'tip_fee' | 'topup' | 'topup_reversal' | 'dispute_reinstated' | 'dev_credit';

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** A bigint column read as text (both drivers), as a JS number; refuses what a number cannot hold exactly. */
export function minorUnits(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isSafeInteger(n)) throw new Error(`ledger amount out of range: ${String(value)}`);
  return n;
}

export interface Transfer {
  kind: TransferKind;
  debitAccountId: number;
  creditAccountId: number;
  amount: number;
  currency: string;
  externalRef?: string;
  tipId?: string;
}

export class Wallets {
  /** Account ids never change once opened, so they are cached for the life of the process. */
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly db: Database,
    readonly currency: string,
  ) {
    if (!CURRENCY_PATTERN.test(currency)) throw new Error(`not an ISO 4217 currency code: ${currency}`);
  }

  /**
   * The id of a user's wallet or earnings account in this ledger's currency, opening it (in its own
   * statement, never in a caller's transaction, so a cached id always exists) when missing.
   */
  async userAccount(kind: UserAccountKind, userId: string): Promise<number> {
    const q = this.db;
    const key = `${kind}:${userId}`;
    const cached = this.ids.get(key);
    if (cached !== undefined) return cached;
    const find = () =>
      q.query<{ id: string }>('SELECT id::text AS id FROM ledger_accounts WHERE kind = $1 AND owner_id = $2 AND currency = $3', [
        kind,
        userId,
        this.currency,
      ]);
    let rows = await find();
    if (!rows[0]) {
      await q.query(
        `INSERT INTO ledger_accounts (kind, owner_id, currency) VALUES ($1, $2, $3)
         ON CONFLICT (kind, owner_id, currency) WHERE owner_id IS NOT NULL DO NOTHING`,
        [kind, userId, this.currency],
      );
      rows = await find();
    }
    if (!rows[0]) throw new Error(`could not open the ${kind} account of user ${userId}`);
    const id = minorUnits(rows[0].id);
    this.ids.set(key, id);
    return id;
  }

  /** The id of a system account (one per kind, shard and currency), opening it when missing. */
  async systemAccount(kind: SystemAccountKind, shard = 0): Promise<number> {
    const q = this.db;
    const key = `${kind}:#${shard}`;
    const cached = this.ids.get(key);
    if (cached !== undefined) return cached;
    await q.query(
      `INSERT INTO ledger_accounts (kind, shard, currency) VALUES ($1, $2, $3)
       ON CONFLICT (kind, shard, currency) WHERE owner_id IS NULL DO NOTHING`,
      [kind, shard, this.currency],
    );
    const rows = await q.query<{ id: string }>(
      'SELECT id::text AS id FROM ledger_accounts WHERE kind = $1 AND shard = $2 AND currency = $3 AND owner_id IS NULL',
      [kind, shard, this.currency],
    );
    if (!rows[0]) throw new Error(`could not open the ${kind} account`);
    const id = minorUnits(rows[0].id);
    this.ids.set(key, id);
    return id;
  }

  /** A user's spendable balance (0 when they never had a wallet). */
  async balance(userId: string, kind: UserAccountKind = 'wallet'): Promise<number> {
    const rows = await this.db.query<{ balance: string }>(
      'SELECT balance::text AS balance FROM ledger_accounts WHERE kind = $1 AND owner_id = $2 AND currency = $3',
      [kind, userId, this.currency],
    );
    return rows[0] ? minorUnits(rows[0].balance) : 0;
  }

  /**
   * Posts one transfer inside the caller's transaction: locks both accounts in id order, moves the
   * amount, appends the transfer row. A debit that would take a no-negative account below zero
   * throws AppError 402 `insufficient_funds` (and the caller's transaction rolls back).
   */
  async post(tx: Queryable, t: Transfer): Promise<void> {
    if (!Number.isSafeInteger(t.amount) || t.amount <= 0) throw new Error(`a transfer moves a positive integer amount, not ${t.amount}`);
    const rows = await tx.query<{ id: string; balance: string; kind: AccountKind }>(
      'SELECT id::text AS id, balance::text AS balance, kind FROM ledger_accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
      [[t.debitAccountId, t.creditAccountId]],
    );
    const debit = rows.find((r) => minorUnits(r.id) === t.debitAccountId);
    if (!debit || rows.length !== 2) throw new Error('transfer between unknown accounts');
    if (mustStayNonNegative(debit.kind) && minorUnits(debit.balance) < t.amount) {
      throw new AppError(402, 'insufficient_funds', 'the balance does not cover this amount');
    }
    await tx.query(
      `UPDATE ledger_accounts SET balance = balance + CASE WHEN id = $1 THEN -$3::bigint ELSE $3::bigint END
       WHERE id IN ($1, $2)`,
      [t.debitAccountId, t.creditAccountId, t.amount],
    );
    await tx.query(
      `INSERT INTO ledger_transfers (kind, debit_account_id, credit_account_id, amount, currency, external_ref, tip_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [t.kind, t.debitAccountId, t.creditAccountId, t.amount, t.currency, t.externalRef ?? null, t.tipId ?? null],
    );
  }

  /** Balance of an account by id, read in the caller's transaction (after post, for instance). */
  async balanceOf(q: Queryable, accountId: number): Promise<number> {
    const rows = await q.query<{ balance: string }>('SELECT balance::text AS balance FROM ledger_accounts WHERE id = $1', [accountId]);
    return rows[0] ? minorUnits(rows[0].balance) : 0;
  }
}

export function mustStayNonNegative(kind: AccountKind): boolean {
  return kind !== 'stripe_clearing' && kind !== 'write_off' && kind !== 'dev_faucet';
}

/**
 * The ledger's invariants, for tests and operators: every account's balance equals its credits minus
 * its debits, all balances sum to zero per currency, and no no-negative account is below zero.
 * Returns a list of violations (empty when the books are sound).
 */
export async function auditLedger(q: Queryable): Promise<string[]> {
  const problems: string[] = [];
  const drift = await q.query<{ id: string; balance: string; derived: string }>(
    `SELECT a.id::text AS id, a.balance::text AS balance,
            (coalesce((SELECT sum(amount) FROM ledger_transfers WHERE credit_account_id = a.id), 0)
           - coalesce((SELECT sum(amount) FROM ledger_transfers WHERE debit_account_id = a.id), 0))::text AS derived
     FROM ledger_accounts a`,
  );
  for (const r of drift)
    if (r.balance !== r.derived) problems.push(`account ${r.id}: balance ${r.balance} but transfers give ${r.derived}`);
  const sums = await q.query<{ currency: string; total: string }>(
    'SELECT currency, sum(balance)::text AS total FROM ledger_accounts GROUP BY currency',
  );
  for (const s of sums) if (s.total !== '0') problems.push(`${s.currency}: balances sum to ${s.total}, not 0`);
  const negative = await q.query<{ id: string }>(
    `SELECT id::text AS id FROM ledger_accounts WHERE balance < 0 AND kind NOT IN ('stripe_clearing', 'write_off', 'dev_faucet')`,
  );
  for (const n of negative) problems.push(`account ${n.id} is below zero`);
  const tipMismatch = await q.query<{ id: string }>(
    `SELECT t.id::text AS id FROM tips t
     LEFT JOIN (SELECT tip_id, sum(amount) AS moved FROM ledger_transfers WHERE tip_id IS NOT NULL GROUP BY tip_id) m ON m.tip_id = t.id
     WHERE coalesce(m.moved, 0) <> t.amount`,
  );
  for (const t of tipMismatch) problems.push(`tip ${t.id}: transfers do not add up to its amount`);
  return problems;
}
