-- The upstream pool: the operator's upstream credentials (one row each), and on every usage
-- record which upstream served the call and after how many attempts.
CREATE TABLE upstreams (
    id              uuid        PRIMARY KEY,
    name            text        NOT NULL,
    kind            text        NOT NULL,
    base_url        text        NOT NULL,
    -- AES-256-GCM under TOLLGATE_SECRETS_KEY: 12-byte nonce, then ciphertext and tag. A dump of
    -- this table alone never reveals a key.
    credential      bytea       NOT NULL,
    key_hint        text        NOT NULL,
    weight          int         NOT NULL CHECK (weight BETWEEN 1 AND 1000),
    priority        int         NOT NULL,
    models          text[],
    max_concurrent  int         CHECK (max_concurrent > 0),
    enabled         boolean     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- Deleting hides and disables an upstream; its usage records keep naming it.
    deleted_at      timestamptz
);
CREATE UNIQUE INDEX upstreams_live_name ON upstreams (name) WHERE deleted_at IS NULL;

-- Nullable: records written before the pool, and those the reaper writes for abandoned calls,
-- name no upstream.
ALTER TABLE usage_records ADD COLUMN upstream_id uuid, ADD COLUMN upstream_name text, ADD COLUMN attempts int;
-- An upstream's spend today and this month scans only this month's pages; a BRIN index costs an
-- insert next to nothing, because records arrive in created_at order.
CREATE INDEX usage_records_created_brin ON usage_records USING brin (created_at);

-- tg_settle_batch takes the upstream columns (R__settlement.sql); the old signature goes, so that
-- exactly one definition exists. It exists only where R__settlement.sql ran before this migration
-- (an existing database, not a new one, where the repeatable migrations run after every V*).
DROP FUNCTION IF EXISTS tg_settle_batch(uuid[], uuid[], bigint[], bigint[], bigint[], text[], uuid[], text[], bigint[], bigint[],
                              bigint[], bigint[], bigint[], bigint[], text[], int[], boolean[], text[], int[], text[],
                              text[], text[], boolean);
