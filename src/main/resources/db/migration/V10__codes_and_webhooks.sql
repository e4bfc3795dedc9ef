-- Redemption codes and webhooks (their functions are in R__redemption.sql).

-- A redemption is a credit of its own kind. NOT VALID: every existing row already passed the
-- stricter constraint this replaces, so re-checking the whole table would only lock it longer.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check,
    ADD CONSTRAINT ledger_entries_kind_check
        CHECK (kind IN ('topup', 'hold', 'settlement', 'release', 'adjustment', 'redemption')) NOT VALID;

-- Prepaid credit sold as codes. The code itself is never stored: only HMAC-SHA-256(pepper, code),
-- as for API keys. Single use is enforced by tg_redeem's conditional update.
CREATE TABLE redemption_codes (
    id               uuid PRIMARY KEY,
    batch_id         uuid        NOT NULL,
    code_hash        bytea       NOT NULL UNIQUE,
    amount           bigint      NOT NULL CHECK (amount > 0),
    expires_at       timestamptz,
    note             text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    redeemed_at      timestamptz,
    redeemed_by      uuid,
    redeemed_key_id  uuid,
    ledger_entry_id  bigint,
    revoked_at       timestamptz,
    CHECK (redeemed_at IS NULL OR revoked_at IS NULL)
);
CREATE INDEX redemption_codes_newest ON redemption_codes (created_at DESC, id DESC);
CREATE INDEX redemption_codes_batch ON redemption_codes (batch_id, created_at DESC, id DESC);

-- Refused redemptions per key ('key:<id>') and client IP ('ip:<address>'), in a fixed window that
-- starts at the first failure: shared by every instance, so guessing cannot be spread over them.
CREATE TABLE redemption_failures (
    subject       text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      int         NOT NULL
);

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    url         text        NOT NULL,
    events      text[]      NOT NULL,
    -- Kept as given (whsec_…): signing needs the secret itself, not a hash of it.
    secret      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The transactional outbox: one row per event and subscribed webhook, written in the transaction
-- of the change that caused the event, delivered at least once by WebhookDispatcher.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    webhook_id       uuid        NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    payload          text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         int         NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id DESC);

CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    http_status   int,
    error         text,
    duration_ms   int         NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Balance events are found by polling, off the settlement path (BalanceSignals).
-- balance.low: settlements and credits already keep low_balance_since (set when available falls
-- below the threshold, kept while it stays below, cleared when it recovers), so each crossing has
-- its own low_balance_since. The poller announces each one once and remembers it here. The
-- partial index holds only accounts with a crossing not yet announced, and a settlement changes
-- none of its columns except at a crossing, so settlements keep their HOT updates.
ALTER TABLE accounts ADD COLUMN low_balance_notified_since timestamptz,
    -- balance.depleted: set when the account is seen depleted, cleared when it is seen funded again.
    -- New accounts start depleted: an account that never had money did not become depleted.
    ADD COLUMN depleted_since timestamptz DEFAULT now();
UPDATE accounts SET low_balance_notified_since = low_balance_since WHERE low_balance_since IS NOT NULL;
CREATE INDEX accounts_low_balance_unannounced ON accounts (id)
    WHERE low_balance_since IS NOT NULL AND low_balance_notified_since IS DISTINCT FROM low_balance_since;

-- When the depletion scan (a read of the whole accounts table) last ran: each instance's timer
-- claims the period here first, so one scan runs per period however many instances there are.
CREATE TABLE balance_scans (
    name      text PRIMARY KEY,
    last_run  timestamptz NOT NULL
);
INSERT INTO balance_scans (name, last_run) VALUES ('depleted', '-infinity');
