-- The roll-up jobs' current definitions (UsageRollups runs them). Re-applied by Flyway whenever
-- this file changes: change them here, never in a V*__ migration.

-- Rolls up to p_max_hours hours of usage_hourly: first the rolled hours changed since (queued in
-- usage_rollup_dirty), else the next closed hours, an hour being closed once it ended p_grace ago.
-- Rewrites those hours in usage_hourly_totals and their days in usage_daily, whose rows hold each
-- day's rolled hours (the current day's so far), and keeps usage_month_to_date the running sums of
-- usage_daily (per account, key, model and upstream, and per key). Returns the hours rolled (0: nothing to do).
--
-- Must run in a REPEATABLE READ transaction: it reads the hours and removes the queued changes it
-- saw from one snapshot, so a change committed meanwhile stays queued for the next run. Records
-- are inserted at now() (their created_at), so nothing but a queued change ever touches a closed
-- hour, provided no transaction inserting records outlives p_grace. Concurrent runs serialise on
-- the state row (a loser fails with a serialisation error and changes nothing).
CREATE OR REPLACE FUNCTION tg_roll_usage(p_grace interval, p_max_hours int) RETURNS int LANGUAGE plpgsql
    SET TimeZone = 'UTC' AS $$
DECLARE
    done timestamptz;
    closed timestamptz := date_trunc('hour', now() - p_grace, 'UTC');
    upto timestamptz;
    hours timestamptz[];
    days timestamptz[] := '{}';
BEGIN
    IF current_setting('transaction_isolation') <> 'repeatable read' THEN
        RAISE EXCEPTION 'tg_roll_usage needs a REPEATABLE READ transaction';
    END IF;
    SELECT rolled_until INTO done FROM usage_rollup_state FOR UPDATE;
    IF done IS NULL THEN
        SELECT least(date_trunc('day', min(hour), 'UTC'), closed) INTO done FROM usage_hourly;
        done := coalesce(done, closed);
    END IF;
    hours := ARRAY(SELECT DISTINCT hour FROM usage_rollup_dirty WHERE hour < done ORDER BY hour LIMIT p_max_hours);
    IF cardinality(hours) > 0 THEN
        upto := done;
    ELSE
        -- Hours without usage are skipped, from the start of the next day that has some.
        done := greatest(done, least(closed, coalesce(
            (SELECT date_trunc('day', min(hour), 'UTC') FROM usage_hourly WHERE hour >= done), closed)));
        upto := greatest(done, least(closed, done + make_interval(hours => p_max_hours)));
        hours := ARRAY(SELECT generate_series(done, upto - interval '1 hour', interval '1 hour'));
        UPDATE usage_rollup_state SET rolled_until = upto;
        IF cardinality(hours) = 0 THEN
            RETURN 0;
        END IF;
    END IF;
    DELETE FROM usage_rollup_dirty WHERE hour = ANY (hours);

    DELETE FROM usage_hourly_totals WHERE hour = ANY (hours);
    INSERT INTO usage_hourly_totals
    SELECT hour, model, upstream_id, sum(requests), sum(input_tokens), sum(output_tokens),
           sum(cache_creation_5m_input_tokens), sum(cache_creation_1h_input_tokens), sum(cache_read_input_tokens),
           sum(cost), sum(upstream_cost)
    FROM usage_hourly WHERE hour = ANY (hours) GROUP BY 1, 2, 3;

    -- Each day's row covers its hours rolled so far: [day, least(day + 1 day, rolled_until)).
    IF upto > done THEN
        -- New hours: added to their days (the current one's row grows hour by hour).
        INSERT INTO usage_daily AS y
        SELECT date_trunc('day', hour, 'UTC'), account_id, key_id, model, upstream_id, sum(requests),
               sum(input_tokens), sum(output_tokens), sum(cache_creation_5m_input_tokens),
               sum(cache_creation_1h_input_tokens), sum(cache_read_input_tokens), sum(cost), sum(upstream_cost)
        FROM usage_hourly WHERE hour >= done AND hour < upto GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 1, 3, 4, 5
        ON CONFLICT (account_id, day, key_id, model, upstream_id) DO UPDATE SET
            requests = y.requests + EXCLUDED.requests, input_tokens = y.input_tokens + EXCLUDED.input_tokens,
            output_tokens = y.output_tokens + EXCLUDED.output_tokens,
            cache_creation_5m_input_tokens = y.cache_creation_5m_input_tokens + EXCLUDED.cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens = y.cache_creation_1h_input_tokens + EXCLUDED.cache_creation_1h_input_tokens,
            cache_read_input_tokens = y.cache_read_input_tokens + EXCLUDED.cache_read_input_tokens,
            cost = y.cost + EXCLUDED.cost, upstream_cost = y.upstream_cost + EXCLUDED.upstream_cost;
    ELSE
        -- Changed hours: their days are rebuilt below, once their change reached the month-to-date rows.
        days := ARRAY(SELECT DISTINCT date_trunc('day', h, 'UTC') FROM unnest(hours) h);
    END IF;

    -- The month-to-date rows: each day's new hours, or each changed day's fresh sums less its rolled
    -- ones, added from that day to its month's last rolled day, once each month's run is carried
    -- up to that day.
    PERFORM tg_extend_month_to_date(least(month + interval '1 month' - interval '1 day',
                                          date_trunc('day', upto - interval '1 hour', 'UTC')))
    FROM (SELECT DISTINCT date_trunc('month', day, 'UTC') AS month
          FROM (SELECT unnest(days) AS day
                UNION ALL
                SELECT generate_series(date_trunc('day', done, 'UTC'), upto - interval '1 hour', interval '24 hours')
                WHERE upto > done) touched) months;
    INSERT INTO usage_month_to_date AS m
    SELECT g, c.account_id, c.key_id, c.model, c.upstream_id, sum(c.requests), sum(c.input_tokens),
           sum(c.output_tokens), sum(c.cache_creation_5m_input_tokens), sum(c.cache_creation_1h_input_tokens),
           sum(c.cache_read_input_tokens), sum(c.cost), sum(c.upstream_cost)
    FROM (
        SELECT day, account_id, key_id, coalesce(model, '') AS model,
               coalesce(upstream_id, '00000000-0000-0000-0000-000000000000'::uuid) AS upstream_id,
               sum(requests) AS requests,
               sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
               sum(cache_creation_5m_input_tokens) AS cache_creation_5m_input_tokens,
               sum(cache_creation_1h_input_tokens) AS cache_creation_1h_input_tokens,
               sum(cache_read_input_tokens) AS cache_read_input_tokens, sum(cost) AS cost,
               sum(upstream_cost) AS upstream_cost
        FROM (SELECT date_trunc('day', hour, 'UTC') AS day, account_id, key_id, model, upstream_id, requests,
                     input_tokens, output_tokens, cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
                     cache_read_input_tokens, cost, upstream_cost
              FROM usage_hourly WHERE hour >= done AND hour < upto
              UNION ALL
              SELECT x, u.account_id, u.key_id, u.model, u.upstream_id, u.requests, u.input_tokens,
                     u.output_tokens, u.cache_creation_5m_input_tokens, u.cache_creation_1h_input_tokens,
                     u.cache_read_input_tokens, u.cost, u.upstream_cost
              FROM unnest(days) x JOIN usage_hourly u ON u.hour >= x AND u.hour < least(x + interval '24 hours', upto)
              UNION ALL
              SELECT day, account_id, key_id, model, upstream_id, -requests, -input_tokens, -output_tokens,
                     -cache_creation_5m_input_tokens, -cache_creation_1h_input_tokens, -cache_read_input_tokens,
                     -cost, -upstream_cost
              FROM usage_daily WHERE day = ANY (days)) added
        GROUP BY day, account_id, key_id, GROUPING SETS ((model, upstream_id), ())
        HAVING sum(requests) <> 0 OR sum(input_tokens) <> 0 OR sum(output_tokens) <> 0
            OR sum(cache_creation_5m_input_tokens) <> 0 OR sum(cache_creation_1h_input_tokens) <> 0
            OR sum(cache_read_input_tokens) <> 0 OR sum(cost) <> 0 OR sum(upstream_cost) <> 0) c
    CROSS JOIN LATERAL generate_series(c.day, least(date_trunc('month', c.day) + interval '1 month' - interval '1 day',
                                                    date_trunc('day', upto - interval '1 hour', 'UTC')),
                                       interval '24 hours') g
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 4, 2, 3, 5
    ON CONFLICT (day, model, account_id, key_id, upstream_id) DO UPDATE SET
        requests = m.requests + EXCLUDED.requests, input_tokens = m.input_tokens + EXCLUDED.input_tokens,
        output_tokens = m.output_tokens + EXCLUDED.output_tokens,
        cache_creation_5m_input_tokens = m.cache_creation_5m_input_tokens + EXCLUDED.cache_creation_5m_input_tokens,
        cache_creation_1h_input_tokens = m.cache_creation_1h_input_tokens + EXCLUDED.cache_creation_1h_input_tokens,
        cache_read_input_tokens = m.cache_read_input_tokens + EXCLUDED.cache_read_input_tokens,
        cost = m.cost + EXCLUDED.cost, upstream_cost = m.upstream_cost + EXCLUDED.upstream_cost;

    IF cardinality(days) > 0 THEN
        DELETE FROM usage_daily WHERE day = ANY (days);
        INSERT INTO usage_daily
        SELECT d, u.account_id, u.key_id, u.model, u.upstream_id, sum(u.requests), sum(u.input_tokens),
               sum(u.output_tokens), sum(u.cache_creation_5m_input_tokens), sum(u.cache_creation_1h_input_tokens),
               sum(u.cache_read_input_tokens), sum(u.cost), sum(u.upstream_cost)
        FROM unnest(days) d JOIN usage_hourly u ON u.hour >= d AND u.hour < least(d + interval '24 hours', upto)
        GROUP BY 1, 2, 3, 4, 5;
    END IF;
    RETURN cardinality(hours);
END $$;

-- Carries the month-to-date run of p_day's month up to p_day: each day after the run's last gets
-- that day's rows (no usage since). A month without a run gets none (it had no usage so far).
CREATE OR REPLACE FUNCTION tg_extend_month_to_date(p_day timestamptz) RETURNS void LANGUAGE plpgsql
    SET TimeZone = 'UTC' AS $$
DECLARE
    last timestamptz := (SELECT max(day) FROM usage_month_to_date
                         WHERE day >= date_trunc('month', p_day) AND day < date_trunc('month', p_day) + interval '1 month');
BEGIN
    IF last < p_day THEN
        INSERT INTO usage_month_to_date
        SELECT g, m.account_id, m.key_id, m.model, m.upstream_id, m.requests, m.input_tokens, m.output_tokens,
               m.cache_creation_5m_input_tokens, m.cache_creation_1h_input_tokens, m.cache_read_input_tokens,
               m.cost, m.upstream_cost
        FROM generate_series(last + interval '24 hours', p_day, interval '24 hours') g
        CROSS JOIN usage_month_to_date m WHERE m.day = last;
    END IF;
END $$;

-- Marks [p_from, p_to) as changed, for whatever writes usage records in the past other than the
-- settlement (an import, a generated data set): their hours are rolled again by the next run.
CREATE OR REPLACE FUNCTION tg_usage_rewritten(p_from timestamptz, p_to timestamptz) RETURNS void LANGUAGE sql AS $$
    INSERT INTO usage_rollup_dirty (hour)
    SELECT generate_series(date_trunc('hour', p_from, 'UTC'), p_to - interval '1 microsecond', interval '1 hour');
$$;

-- Adds the ledger entries written since the last checkpoint (up to the last that is p_grace old,
-- so that every entry with a lower id is committed) to each account's checkpoint. Returns how far
-- the checkpoint moved (in entry ids; 0: nothing to add). Concurrent runs serialise on the state row.
CREATE OR REPLACE FUNCTION tg_checkpoint_ledger(p_grace interval, p_max_entries int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    prev bigint;
    upto bigint;
BEGIN
    SELECT up_to_id INTO prev FROM ledger_checkpoint_state FOR UPDATE;
    SELECT max(id) INTO upto FROM (SELECT id, created_at FROM ledger_entries WHERE id > prev ORDER BY id
                                   LIMIT p_max_entries) e WHERE created_at < now() - p_grace;
    IF upto IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO ledger_checkpoints AS c (account_id, balance, held, settled)
    SELECT account_id, sum(balance_delta), sum(held_delta), coalesce(-sum(balance_delta) FILTER (WHERE kind = 'settlement'), 0)
    FROM ledger_entries WHERE id > prev AND id <= upto GROUP BY account_id ORDER BY account_id
    ON CONFLICT (account_id) DO UPDATE SET balance = c.balance + EXCLUDED.balance, held = c.held + EXCLUDED.held,
                                           settled = c.settled + EXCLUDED.settled;
    UPDATE ledger_checkpoint_state SET up_to_id = upto;
    RETURN upto - prev;
END $$;
