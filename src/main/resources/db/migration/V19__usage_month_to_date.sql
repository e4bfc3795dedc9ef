-- Month-to-date sums, one row per day, built by the roll-up job (tg_roll_usage) with usage_daily:
-- a row holds the usage_daily rows of its account, key, model and upstream from the first of the
-- month through its day, and a row with the empty model (and the nil upstream) those of its key
-- whatever the model and upstream. A report across accounts over a range of days is then the
-- difference of two such days (or a few, one per month), whatever the number of days or records,
-- instead of a sum over every account's days; a report by account or key reads the key rows.
--
-- Each month with usage has a run of days, from its first day with usage through its last day (or
-- the last rolled day), and every day of the run has rows for everything used in the month up to
-- that day; a month has no usage outside its run.
CREATE TABLE usage_month_to_date (
    day                             timestamptz NOT NULL,  -- midnight UTC
    account_id                      uuid        NOT NULL,
    key_id                          uuid        NOT NULL,  -- the nil uuid for records without a key
    model                           text        NOT NULL,  -- '': the key's row, every model and upstream
    upstream_id                     uuid        NOT NULL,
    requests                        bigint      NOT NULL,
    input_tokens                    bigint      NOT NULL,
    output_tokens                   bigint      NOT NULL,
    cache_creation_5m_input_tokens  bigint      NOT NULL,
    cache_creation_1h_input_tokens  bigint      NOT NULL,
    cache_read_input_tokens         bigint      NOT NULL,
    cost                            bigint      NOT NULL,
    upstream_cost                   bigint      NOT NULL,
    PRIMARY KEY (day, model, account_id, key_id, upstream_id)
);

-- The roll-ups are built again from the start by the job (its first passes after the upgrade, a
-- month of hours each), so that every roll-up, this one included, comes from the same code; until
-- then reports read the hours not rolled yet from usage_hourly, exact and slower.
TRUNCATE usage_hourly_totals, usage_daily, usage_rollup_dirty;
UPDATE usage_rollup_state SET rolled_until = NULL;
