-- Roll-ups of closed hours, built from usage_hourly by a background job (tg_roll_usage, run by
-- UsageRollups) rather than by the settlement's triggers, so the relay's per-call work is unchanged:
-- reports, the dashboard and reconciliation read a row per model and hour across accounts, or per
-- account, key, model and upstream and day, instead of every account's hours.
CREATE TABLE usage_hourly_totals (
    hour                            timestamptz NOT NULL,
    model                           text        NOT NULL,
    upstream_id                     uuid        NOT NULL,
    requests                        bigint      NOT NULL,
    input_tokens                    bigint      NOT NULL,
    output_tokens                   bigint      NOT NULL,
    cache_creation_5m_input_tokens  bigint      NOT NULL,
    cache_creation_1h_input_tokens  bigint      NOT NULL,
    cache_read_input_tokens         bigint      NOT NULL,
    cost                            bigint      NOT NULL,
    upstream_cost                   bigint      NOT NULL,
    PRIMARY KEY (hour, model, upstream_id)
);

CREATE TABLE usage_daily (
    day                             timestamptz NOT NULL,  -- midnight UTC
    account_id                      uuid        NOT NULL,
    key_id                          uuid        NOT NULL,
    model                           text        NOT NULL,
    upstream_id                     uuid        NOT NULL,
    requests                        bigint      NOT NULL,
    input_tokens                    bigint      NOT NULL,
    output_tokens                   bigint      NOT NULL,
    cache_creation_5m_input_tokens  bigint      NOT NULL,
    cache_creation_1h_input_tokens  bigint      NOT NULL,
    cache_read_input_tokens         bigint      NOT NULL,
    cost                            bigint      NOT NULL,
    upstream_cost                   bigint      NOT NULL,
    PRIMARY KEY (account_id, day, key_id, model, upstream_id)
);
CREATE INDEX usage_daily_day ON usage_daily (day);

-- Hours before rolled_until are in usage_hourly_totals, and the days that end by then in
-- usage_daily, except the hours named in usage_rollup_dirty (changed since they were rolled).
CREATE TABLE usage_rollup_state (
    only_row      boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    rolled_until  timestamptz
);
INSERT INTO usage_rollup_state VALUES (true, NULL);

-- Hours of usage_hourly changed in place (a late settlement replacing an abandoned call's record,
-- the only change to a past hour), one row per change: the job removes only the rows its snapshot
-- saw, so a change made while it runs is rolled by its next run.
CREATE TABLE usage_rollup_dirty (
    id    bigserial   PRIMARY KEY,
    hour  timestamptz NOT NULL
);
CREATE INDEX usage_rollup_dirty_hour ON usage_rollup_dirty (hour);

-- Each account's ledger entries summed up to ledger_checkpoint_state.up_to_id, so reconciliation
-- adds only the entries after it.
CREATE TABLE ledger_checkpoints (
    account_id  uuid   PRIMARY KEY REFERENCES accounts (id),
    balance     bigint NOT NULL,
    held        bigint NOT NULL,
    settled     bigint NOT NULL   -- the charges of 'settlement' entries (minus their balance deltas)
);
-- Where the checkpoints stand: every entry with an id up to it is counted.
CREATE TABLE ledger_checkpoint_state (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    up_to_id  bigint NOT NULL
);
INSERT INTO ledger_checkpoint_state VALUES (true, 0);
