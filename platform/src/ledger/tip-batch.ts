// One group commit: many tips posted by a single set-based statement (its own transaction). The
// statement locks every account it touches in id order (so concurrent batches never deadlock),
// answers replays of known Idempotency-Keys from the tips table, accepts each wallet's new tips in
// arrival order while their running sum fits the locked balance (a wallet that runs dry fails only
// its own tips), and for the accepted ones inserts the tip, its transfers and its outbox row and moves
// the balances, summed per account. Never decides anything about a tip from state read outside the
// locks, and never reports a tip as committed before its transaction is.
import type { Database } from '../db/database.js';
import { minorUnits } from './wallets.js';

/** Who tipped whom, on which stream, how much (minor units) and the platform's fee out of it. */
export interface TipParties {
  id: string;
  streamId: string;
  fromUserId: string;
  fromUsername: string;
  toUserId: string;
  amount: number;
  fee: number;
}

/** A tip ready to post: validated, priced (fee) and with its accounts resolved. */
export interface TipDraft extends TipParties {
  message: string;
  idempotencyKey: string;
  requestHash: string;
  walletAccountId: number;
  earningsAccountId: number;
}

/** A committed tip as stored (what a replay of its Idempotency-Key answers). */
export interface StoredTip extends TipParties {
  currency: string;
  message: string;
  requestHash: string;
  createdAt: Date;
}

export type DraftOutcome = { kind: 'committed'; tip: StoredTip } | { kind: 'replayed'; tip: StoredTip } | { kind: 'insufficient_funds' };

interface OutcomeRow {
  ord: string;
  outcome: 'committed' | 'replayed' | 'insufficient_funds';
  id: string | null;
  stream_id: string | null;
  from_user_id: string | null;
  from_username: string | null;
  to_user_id: string | null;
  amount: string | null;
  fee: string | null;
  currency: string | null;
  message: string | null;
  request_hash: string | null;
  created_at: Date | null;
}

const TIP_COLUMNS = `id::text AS id, stream_id, from_user_id::text AS from_user_id, from_username, to_user_id::text AS to_user_id,
  amount::text AS amount, fee::text AS fee, currency, message, request_hash, created_at`;

// $1..$12: per-tip arrays (same length, in arrival order); $13: the fee account; $14: the currency.
const BATCH_SQL = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::bigint[], $7::bigint[],
                       $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[])
    WITH ORDINALITY AS i(id, stream_id, from_user_id, from_username, to_user_id, amount, fee,
                         message, idempotency_key, request_hash, wallet, earnings, ord)
),
locked AS MATERIALIZED (
  SELECT a.id, a.balance FROM ledger_accounts a
  WHERE a.id IN (SELECT wallet FROM input UNION SELECT earnings FROM input UNION SELECT $13::bigint)
  ORDER BY a.id
  FOR UPDATE
),
known AS (
  SELECT i.ord, t.* FROM input i JOIN tips t ON t.from_user_id = i.from_user_id AND t.idempotency_key = i.idempotency_key
),
ranked AS (
  SELECT i.*, l.balance, sum(i.amount) OVER (PARTITION BY i.wallet ORDER BY i.ord) AS running
  FROM input i JOIN locked l ON l.id = i.wallet
  WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.ord = i.ord)
    AND (SELECT count(*) FROM locked) > 0
),
accepted AS (SELECT * FROM ranked WHERE running <= balance),
inserted AS (
  INSERT INTO tips (id, stream_id, from_user_id, from_username, to_user_id, amount, fee, currency, message, idempotency_key, request_hash)
  SELECT id, stream_id, from_user_id, from_username, to_user_id, amount, fee, $14, message, idempotency_key, request_hash
  FROM accepted ORDER BY ord
  ON CONFLICT (from_user_id, idempotency_key) DO NOTHING
  RETURNING id, created_at
),
moves AS (
  SELECT a.wallet AS debit, a.earnings AS credit, a.amount - a.fee AS amount, 'tip' AS kind, a.id AS tip_id
  FROM accepted a JOIN inserted n ON n.id = a.id WHERE a.amount > a.fee
  UNION ALL
  SELECT a.wallet, $13::bigint, a.fee, 'tip_fee', a.id
  FROM accepted a JOIN inserted n ON n.id = a.id WHERE a.fee > 0
),
transfers AS (
  INSERT INTO ledger_transfers (kind, debit_account_id, credit_account_id, amount, currency, tip_id)
  SELECT kind, debit, credit, amount, $14, tip_id FROM moves
),
deltas AS (
  SELECT account, sum(delta) AS delta
  FROM (SELECT debit AS account, -amount AS delta FROM moves UNION ALL SELECT credit, amount FROM moves) d
  GROUP BY account
),
balances AS (
  UPDATE ledger_accounts a SET balance = a.balance + d.delta FROM deltas d WHERE a.id = d.account
),
outbox AS (
  INSERT INTO tip_outbox (tip_id, stream_id) SELECT a.id, a.stream_id FROM accepted a JOIN inserted n ON n.id = a.id ORDER BY a.ord
)
SELECT a.ord::text AS ord, 'committed' AS outcome, a.id::text AS id, a.stream_id, a.from_user_id::text AS from_user_id,
       a.from_username, a.to_user_id::text AS to_user_id, a.amount::text AS amount, a.fee::text AS fee, $14 AS currency,
       a.message, a.request_hash, n.created_at
FROM accepted a JOIN inserted n ON n.id = a.id
UNION ALL
SELECT k.ord::text, 'replayed', k.id::text, k.stream_id, k.from_user_id::text, k.from_username, k.to_user_id::text,
       k.amount::text, k.fee::text, k.currency, k.message, k.request_hash, k.created_at
FROM known k
UNION ALL
SELECT r.ord::text, 'insufficient_funds', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM ranked r WHERE r.running > r.balance
`;

/**
 * Commits one batch and returns an outcome per draft (same order). A draft whose key another
 * transaction committed while this one ran comes back as `replayed`, read after the commit.
 */
export async function commitTipBatch(
  db: Database,
  drafts: readonly TipDraft[],
  feeAccountId: number,
  currency: string,
): Promise<DraftOutcome[]> {
  const col = <T>(f: (d: TipDraft) => T) => drafts.map(f);
  // One statement is one transaction (atomic on its own): no BEGIN/COMMIT round trips, and no
  // reserved connection left to roll back if the server goes away mid-batch.
  const rows = await db.query<OutcomeRow>(BATCH_SQL, [
    col((d) => d.id),
    col((d) => d.streamId),
    col((d) => d.fromUserId),
    col((d) => d.fromUsername),
    col((d) => d.toUserId),
    col((d) => d.amount),
    col((d) => d.fee),
    col((d) => d.message),
    col((d) => d.idempotencyKey),
    col((d) => d.requestHash),
    col((d) => d.walletAccountId),
    col((d) => d.earningsAccountId),
    feeAccountId,
    currency,
  ]);
  const outcomes: (DraftOutcome | undefined)[] = new Array(drafts.length);
  for (const r of rows) {
    const i = Number(r.ord) - 1;
    outcomes[i] = r.outcome === 'insufficient_funds' ? { kind: 'insufficient_funds' } : { kind: r.outcome, tip: toStoredTip(r) };
  }
  // Lost an ON CONFLICT race to another transaction with the same key: that tip is committed now.
  for (let i = 0; i < drafts.length; i++) {
    if (outcomes[i]) continue;
    const d = drafts[i]!;
    const known = await findTipByKey(db, d.fromUserId, d.idempotencyKey);
    if (!known) throw new Error(`tip ${d.id} has no outcome and no committed twin`);
    outcomes[i] = { kind: 'replayed', tip: known };
  }
  return outcomes as DraftOutcome[];
}

export async function findTipByKey(db: Database, fromUserId: string, idempotencyKey: string): Promise<StoredTip | null> {
  const rows = await db.query<OutcomeRow>(`SELECT ${TIP_COLUMNS} FROM tips WHERE from_user_id = $1 AND idempotency_key = $2`, [
    fromUserId,
    idempotencyKey,
  ]);
  return rows[0] ? toStoredTip(rows[0]) : null;
}

export async function tipsReceivedBy(
  db: Database,
  toUserId: string,
  limit: number,
  before?: { createdAt: Date; id: string },
): Promise<StoredTip[]> {
  const rows = before
    ? await db.query<OutcomeRow>(
        `SELECT ${TIP_COLUMNS} FROM tips WHERE to_user_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid)
         ORDER BY created_at DESC, id DESC LIMIT $4`,
        [toUserId, before.createdAt, before.id, limit],
      )
    : await db.query<OutcomeRow>(`SELECT ${TIP_COLUMNS} FROM tips WHERE to_user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, [
        toUserId,
        limit,
      ]);
  return rows.map(toStoredTip);
}

export function toStoredTip(r: Pick<OutcomeRow, Exclude<keyof OutcomeRow, 'ord' | 'outcome'>>): StoredTip {
  return {
    id: r.id!,
    streamId: r.stream_id!,
    fromUserId: r.from_user_id!,
    fromUsername: r.from_username!,
    toUserId: r.to_user_id!,
    amount: minorUnits(r.amount),
    fee: minorUnits(r.fee),
    currency: r.currency!,
    message: r.message ?? '',
    requestHash: r.request_hash!,
    createdAt: r.created_at instanceof Date ? r.created_at : new Date(String(r.created_at)),
  };
}
