-- The money ledger: double-entry accounts and transfers, tips with their idempotency keys, the tip
-- outbox (TipEvents published after commit), and Stripe top-ups with the webhook events applied.
-- Amounts are integers in minor units (bigint) with an ISO 4217 currency code.
--
-- Double entry by construction: every ledger_transfers row moves `amount` from one account (debit)
-- to another (credit) in the same currency, so the books balance row by row and the sum of all
-- balances is always 0. Transfers are immutable (no UPDATE/DELETE). Balances are maintained in
-- ledger_accounts under a CHECK: only external/clearing accounts may go below zero.

CREATE TABLE ledger_accounts (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- wallet: a user's spendable funds; earnings: what a streamer received in tips (not spendable);
  -- platform_fee: fees taken from tips (sharded by writer so group-commit writers never share a row);
  -- stripe_clearing: money owed by/through Stripe (negative: funds that came in from cards);
  -- write_off: reversals a wallet could not cover (refunds/disputes after the funds were spent);
  -- dev_faucet: test funds granted by the development payment provider (never real money)
  kind        text NOT NULL CHECK (kind IN ('wallet', 'earnings', 'platform_fee', 'stripe_clearing', 'write_off', 'dev_faucet')),
  owner_id    uuid REFERENCES users (id),
  shard       integer NOT NULL DEFAULT 0,
  currency    text COLLATE "C" NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  balance     bigint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((owner_id IS NOT NULL) = (kind IN ('wallet', 'earnings'))),
  -- the no-negative rule: only accounts that stand for the outside world may be overdrawn
  CONSTRAINT ledger_accounts_no_negative CHECK (balance >= 0 OR kind IN ('stripe_clearing', 'write_off', 'dev_faucet')),
  UNIQUE (id, currency)
);
CREATE UNIQUE INDEX ledger_accounts_owner_idx ON ledger_accounts (kind, owner_id, currency) WHERE owner_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_accounts_system_idx ON ledger_accounts (kind, shard, currency) WHERE owner_id IS NULL;

CREATE TABLE tips (
  id              uuid PRIMARY KEY,
  stream_id       text COLLATE "C" NOT NULL,
  from_user_id    uuid NOT NULL,
  -- the tipper's name when they tipped (what the TipEvent shows)
  from_username   text NOT NULL,
  to_user_id      uuid NOT NULL,
  amount          bigint NOT NULL CHECK (amount > 0),
  fee             bigint NOT NULL CHECK (fee >= 0 AND fee <= amount),
  currency        text COLLATE "C" NOT NULL,
  message         text NOT NULL DEFAULT '',
  -- the client's Idempotency-Key, unique per tipper, and a hash of the request it came with
  idempotency_key text NOT NULL,
  request_hash    text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (from_user_id, idempotency_key)
);
CREATE INDEX tips_to_user_idx ON tips (to_user_id, created_at DESC, id DESC);

CREATE TABLE ledger_transfers (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind              text NOT NULL CHECK (kind IN ('tip', 'tip_fee', 'topup', 'topup_reversal', 'dispute_reinstated', 'dev_credit')),
  debit_account_id  bigint NOT NULL,
  credit_account_id bigint NOT NULL,
  amount            bigint NOT NULL CHECK (amount > 0),
  currency          text COLLATE "C" NOT NULL,
  tip_id            uuid,
  -- what caused it outside the ledger (a Stripe PaymentIntent or event id)
  external_ref      text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (debit_account_id <> credit_account_id),
  -- both sides in the transfer's currency: the composite keys make a cross-currency posting impossible
  FOREIGN KEY (debit_account_id, currency) REFERENCES ledger_accounts (id, currency),
  FOREIGN KEY (credit_account_id, currency) REFERENCES ledger_accounts (id, currency)
);
CREATE INDEX ledger_transfers_tip_idx ON ledger_transfers (tip_id) WHERE tip_id IS NOT NULL;

CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER tips_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON tips
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();

-- Tips committed but not yet published as TipEvents: written in the tip's transaction, claimed by a
-- relay for a lease (claimed_until), deleted once the event is published. A relay that dies leaves
-- its claim to expire, and the next relay publishes those tips.
CREATE TABLE tip_outbox (
  seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tip_id        uuid NOT NULL UNIQUE,
  stream_id     text COLLATE "C" NOT NULL,
  claimed_until timestamptz
);

-- Stripe: one row per PaymentIntent we created, and every webhook event id we applied (each once).
CREATE TABLE topups (
  payment_intent_id text PRIMARY KEY,
  user_id           uuid NOT NULL REFERENCES users (id),
  amount            bigint NOT NULL CHECK (amount > 0),
  currency          text COLLATE "C" NOT NULL,
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded')),
  -- reversed so far: refunded (Stripe's cumulative amount_refunded) and disputed (net of reinstated)
  amount_refunded   bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  amount_disputed   bigint NOT NULL DEFAULT 0 CHECK (amount_disputed >= 0),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topups_user_idx ON topups (user_id, created_at DESC);

CREATE TABLE stripe_events (
  id          text PRIMARY KEY,
  type        text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
