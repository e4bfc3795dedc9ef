-- Price plans (the markup an account is charged at), prices stored by the operator, what each
-- call cost the operator upstream, and the hourly roll-up extended for reports.

CREATE TABLE plans (
    id               uuid PRIMARY KEY,
    name             text        NOT NULL,
    -- Applied to the list price of every token kind; negative is a discount.
    markup_percent   numeric     NOT NULL CHECK (markup_percent > -100),
    -- {model id: {"input", "output", "cache_write_5m"?, "cache_write_1h"?, "cache_read"?} (USD per
    -- million tokens, charged as is) or {"markup_percent"} (replacing the plan's for that model)}.
    model_overrides  jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Null: the default plan (tollgate.default-markup-percent).
ALTER TABLE accounts ADD COLUMN plan_id uuid REFERENCES plans (id);

-- Price entries set through the admin API, over the built-in table and the prices file: one per
-- model id, in the prices file's shape. Every instance re-reads this table every few seconds.
CREATE TABLE model_prices (
    model_id    text PRIMARY KEY,
    entry       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Inserts wait for this migration, so that the roll-up rebuilt below misses and doubles nothing.
LOCK TABLE usage_records IN SHARE ROW EXCLUSIVE MODE;

-- upstream_cost: the call at list price (what the upstream bills the operator), beside cost (what
-- the customer was charged, under plan_id; null plan: the default plan). Null in records written
-- before plans existed, when every call was charged at list price: their upstream cost is their cost.
ALTER TABLE usage_records ADD COLUMN upstream_cost bigint CHECK (upstream_cost >= 0), ADD COLUMN plan_id uuid;

-- The roll-up gains the model, the upstream and the upstream cost, so that reports by model or
-- upstream read hours, not records. Rebuilt once from the records.
ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey;
TRUNCATE usage_hourly;
ALTER TABLE usage_hourly ADD COLUMN model text NOT NULL,
    ADD COLUMN upstream_id uuid NOT NULL,  -- all ones for records that name no upstream (the nil uuid is the configured default's)
    ADD COLUMN upstream_cost bigint NOT NULL;
INSERT INTO usage_hourly (account_id, key_id, hour, requests, input_tokens, output_tokens,
                          cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, cache_read_input_tokens,
                          cost, model, upstream_id, upstream_cost)
SELECT account_id, coalesce(key_id, '00000000-0000-0000-0000-000000000000'), date_trunc('hour', created_at, 'UTC'),
       count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_5m_input_tokens),
       sum(cache_creation_1h_input_tokens), sum(cache_read_input_tokens), sum(cost), model,
       coalesce(upstream_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'), sum(coalesce(upstream_cost, cost))
FROM usage_records GROUP BY account_id, 2, 3, model, 12;
ALTER TABLE usage_hourly ADD PRIMARY KEY (account_id, hour, key_id, model, upstream_id);
-- Reports across accounts read a range of hours.
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);

-- tg_settle_batch takes each call's upstream cost and plan (R__settlement.sql); the old signature
-- goes, so that exactly one definition exists.
DROP FUNCTION IF EXISTS tg_settle_batch(uuid[], uuid[], bigint[], bigint[], bigint[], text[], uuid[], text[], bigint[],
                              bigint[], bigint[], bigint[], bigint[], bigint[], text[], int[], boolean[], text[], int[],
                              text[], text[], text[], uuid[], text[], int[], boolean);
