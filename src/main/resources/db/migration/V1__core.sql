-- Tollgate core schema. Money is integer nano-dollars (1 USD = 1,000,000,000); never floating point.

CREATE TABLE accounts (
    id          uuid PRIMARY KEY,
    name        text        NOT NULL,
    -- Running totals, changed only by the conditional statements in LedgerStore.
    -- balance = sum(ledger_entries.balance_delta); held = sum(ledger_entries.held_delta).
    balance     bigint      NOT NULL DEFAULT 0,
    held        bigint      NOT NULL DEFAULT 0 CHECK (held >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id              uuid PRIMARY KEY,
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    name            text        NOT NULL,
    -- HMAC-SHA-256(pepper, full key): a dump alone cannot test guesses.
    key_hash        bytea       NOT NULL UNIQUE,
    prefix          text        NOT NULL,
    allowed_models  text[],
    expires_at      timestamptz,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at DESC);

-- A hold is a pending debit (TigerBeetle's pending transfer): settled once, or released, or expired by the reaper.
CREATE TABLE holds (
    id          uuid PRIMARY KEY,
    account_id  uuid        NOT NULL REFERENCES accounts (id),
    key_id      uuid        REFERENCES api_keys (id),
    request_id  text        NOT NULL,
    model       text        NOT NULL,
    endpoint    text        NOT NULL,
    stream      boolean     NOT NULL,
    amount      bigint      NOT NULL CHECK (amount >= 0),
    state       text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'settled', 'released', 'expired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    closed_at   timestamptz
);
CREATE INDEX holds_pending_expiry ON holds (expires_at) WHERE state = 'pending';

-- Append-only: never updated, never deleted. Corrections are new 'adjustment' entries.
CREATE TABLE ledger_entries (
    id             bigserial PRIMARY KEY,
    account_id     uuid        NOT NULL REFERENCES accounts (id),
    kind           text        NOT NULL CHECK (kind IN ('topup', 'hold', 'settlement', 'release', 'adjustment')),
    balance_delta  bigint      NOT NULL,
    held_delta     bigint      NOT NULL,
    hold_id        uuid,
    request_id     text,
    note           text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, id DESC);

CREATE TABLE usage_records (
    id                              bigserial PRIMARY KEY,
    request_id                      text        NOT NULL UNIQUE,
    account_id                      uuid        NOT NULL REFERENCES accounts (id),
    key_id                          uuid        REFERENCES api_keys (id),
    model                           text        NOT NULL,
    input_tokens                    bigint      NOT NULL DEFAULT 0,
    output_tokens                   bigint      NOT NULL DEFAULT 0,
    cache_creation_5m_input_tokens  bigint      NOT NULL DEFAULT 0,
    cache_creation_1h_input_tokens  bigint      NOT NULL DEFAULT 0,
    cache_read_input_tokens         bigint      NOT NULL DEFAULT 0,
    web_search_requests             bigint      NOT NULL DEFAULT 0,
    cost                            bigint      NOT NULL CHECK (cost >= 0),
    status                          text        NOT NULL,
    http_status                     int         NOT NULL,
    stream                          boolean     NOT NULL,
    endpoint                        text        NOT NULL,
    latency_ms                      int         NOT NULL,
    upstream_request_id             text,
    referer                         text,
    title                           text,
    created_at                      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_records_account ON usage_records (account_id, id DESC);
CREATE INDEX usage_records_key ON usage_records (key_id, id DESC);

-- Stripe-style idempotency for money-moving admin calls.
CREATE TABLE idempotency_keys (
    scope          text        NOT NULL,
    key            text        NOT NULL,
    request_hash   bytea       NOT NULL,
    response_status int,
    response_body  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
