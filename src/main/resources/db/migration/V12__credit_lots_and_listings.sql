-- Expiring credit (credit lots) and the indexes of the account, key and usage listings.

-- What is left of an expired lot leaves the balance as an entry of its own kind. NOT VALID: every
-- existing row already passed the stricter constraint this replaces.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check,
    ADD CONSTRAINT ledger_entries_kind_check
        CHECK (kind IN ('topup', 'hold', 'settlement', 'release', 'adjustment', 'redemption', 'expiry')) NOT VALID;

-- A code may carry credit that expires a number of days after it is redeemed.
ALTER TABLE redemption_codes ADD COLUMN credit_expires_in_days int
    CHECK (credit_expires_in_days BETWEEN 1 AND 3650);

-- A credit that expires (a top-up, a positive adjustment or a redemption with an expiry): a lot.
-- The running balance stays the one number holds and settlements check; lots are bookkeeping
-- beside it, kept off the hot path. Spending is attributed to lots lazily (CreditLots), in ledger
-- order, by the expiry job and by views; spent and expired are what was attributed up to the
-- account's checkpoint (credit_lot_accounts). Rows are never deleted. No foreign key to accounts
-- (here or below): each one is a trigger on every update of an account row, which settlements
-- make; tg_add_lot writes both tables for the account whose row its transaction just updated.
CREATE TABLE credit_lots (
    entry_id              bigint PRIMARY KEY REFERENCES ledger_entries (id),
    account_id            uuid        NOT NULL,
    amount                bigint      NOT NULL CHECK (amount > 0),
    expires_at            timestamptz NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    spent                 bigint      NOT NULL DEFAULT 0 CHECK (spent >= 0),
    expired               bigint      NOT NULL DEFAULT 0 CHECK (expired >= 0),
    -- Set when nothing is left of it (spent, or expired, or both).
    closed_at             timestamptz,
    -- credit.expiring was announced (once per lot).
    expiring_notified_at  timestamptz,
    CHECK (spent + expired <= amount)
);
CREATE INDEX credit_lots_open ON credit_lots (expires_at) WHERE closed_at IS NULL;
CREATE INDEX credit_lots_account ON credit_lots (account_id, expires_at, entry_id);

-- Per account with lots: the last ledger entry whose spending has been attributed to its lots.
CREATE TABLE credit_lot_accounts (
    account_id          uuid PRIMARY KEY,
    attributed_through  bigint      NOT NULL,
    attributed_at       timestamptz NOT NULL DEFAULT now()
);

-- Listings, newest first, with a (created_at, id) keyset cursor; searches by name prefix (any
-- case), id prefix (a range of the primary key) and, for keys, the displayed key prefix.
CREATE INDEX accounts_newest ON accounts (created_at DESC, id DESC);
CREATE INDEX accounts_name_prefix ON accounts (lower(name) text_pattern_ops);
CREATE INDEX api_keys_newest ON api_keys (created_at DESC, id DESC);
CREATE INDEX api_keys_name_prefix ON api_keys (lower(name) text_pattern_ops);
CREATE INDEX api_keys_prefix ON api_keys (prefix text_pattern_ops);
