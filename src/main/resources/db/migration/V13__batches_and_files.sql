-- Message Batches, Files and Skills stored on an upstream under the operator's organization, each
-- owned by one account here: the upstream cannot tell customers apart, so ownership lives in our
-- database and every endpoint checks it (another account gets 404).

CREATE TABLE message_batches (
    id              text        PRIMARY KEY,             -- the upstream's id (msgbatch_...), shown to the customer
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    key_id          uuid        REFERENCES api_keys (id),
    upstream_id     uuid        NOT NULL,                -- where it lives: polled, read and deleted there only
    hold_id         uuid        NOT NULL,                -- the batch's hold (holds.id), until settlement
    plan_id         uuid,                                -- the account's plan when it was created: its prices bill it
    request_count   int         NOT NULL,
    -- The upstream's message_batch object as last seen (list pages are served from it).
    snapshot        jsonb       NOT NULL,
    processing_status text      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Pollers claim a batch by moving this forward (SKIP LOCKED), so one instance polls it at a time.
    next_poll_at    timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,                         -- set once, by tg_settle_message_batch
    settled_cost    bigint,
    -- custom_id → the billed model of each request ("1h:" prefixed when it asked for 1-hour cache writes only).
    models          jsonb       NOT NULL,
    deleted_at      timestamptz
);
CREATE INDEX message_batches_account ON message_batches (account_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX message_batches_unsettled ON message_batches (next_poll_at) WHERE settled_at IS NULL;

CREATE TABLE files (
    id              text        PRIMARY KEY,             -- the upstream's id (file_...)
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    key_id          uuid        REFERENCES api_keys (id),
    upstream_id     uuid        NOT NULL,
    size_bytes      bigint      NOT NULL,
    snapshot        jsonb       NOT NULL,                -- the upstream's file object
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX files_account ON files (account_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;

-- Uploads in flight count against the quotas until they end (a row per upload, removed at its end).
CREATE TABLE file_uploads (
    id              uuid        PRIMARY KEY,
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    size_bytes      bigint      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_uploads_account ON file_uploads (account_id);

CREATE TABLE skills (
    id              text        PRIMARY KEY,             -- the upstream's id (skill_...)
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    key_id          uuid        REFERENCES api_keys (id),
    upstream_id     uuid        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX skills_account ON skills (account_id, created_at DESC) WHERE deleted_at IS NULL;

-- Per-account overrides of the file quotas (NULL: the configured default).
ALTER TABLE accounts ADD COLUMN max_files int CHECK (max_files >= 0),
                     ADD COLUMN max_file_bytes_total bigint CHECK (max_file_bytes_total >= 0);

-- A batch's usage records name it and the request inside it.
ALTER TABLE usage_records ADD COLUMN batch_id text, ADD COLUMN custom_id text;
CREATE INDEX usage_records_batch ON usage_records (batch_id) WHERE batch_id IS NOT NULL;
