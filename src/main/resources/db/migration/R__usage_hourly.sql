-- The current definition of the usage roll-up trigger function.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

-- Adds inserted records to their hours (per account, key, model and upstream), or moves an updated
-- record from its old hour row to its new one (an abandoned call's record replaced by its late
-- settlement gains an upstream and a cost), in key order so that concurrent batches lock the same
-- hour rows in the same order. A record without a key counts under the nil uuid, one that names no
-- upstream under ffffffff-ffff-ffff-ffff-ffffffffffff (the nil uuid is the configured default
-- upstream's id), and one without an upstream cost (written before plans) at its cost.
CREATE OR REPLACE FUNCTION tg_add_usage_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_hourly AS u (account_id, key_id, hour, model, upstream_id, requests, input_tokens,
                                       output_tokens, cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
                                       cache_read_input_tokens, cost, upstream_cost)
        SELECT account_id, coalesce(key_id, '00000000-0000-0000-0000-000000000000'), date_trunc('hour', created_at, 'UTC'),
               model, coalesce(upstream_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
               count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_5m_input_tokens),
               sum(cache_creation_1h_input_tokens), sum(cache_read_input_tokens), sum(cost),
               sum(coalesce(upstream_cost, cost))
        FROM new_records GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 2, 4, 5
        ON CONFLICT (account_id, hour, key_id, model, upstream_id) DO UPDATE SET
            requests = u.requests + EXCLUDED.requests, input_tokens = u.input_tokens + EXCLUDED.input_tokens,
            output_tokens = u.output_tokens + EXCLUDED.output_tokens,
            cache_creation_5m_input_tokens = u.cache_creation_5m_input_tokens + EXCLUDED.cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens = u.cache_creation_1h_input_tokens + EXCLUDED.cache_creation_1h_input_tokens,
            cache_read_input_tokens = u.cache_read_input_tokens + EXCLUDED.cache_read_input_tokens,
            cost = u.cost + EXCLUDED.cost, upstream_cost = u.upstream_cost + EXCLUDED.upstream_cost;
    ELSE
        -- A record replaced in place: the old version taken out of its hour row, the new one added
        -- to its own (the same row unless the upstream changed). Request, account, key, model and
        -- created_at never change.
        INSERT INTO usage_hourly AS u (account_id, key_id, hour, model, upstream_id, requests, input_tokens,
                                       output_tokens, cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
                                       cache_read_input_tokens, cost, upstream_cost)
        SELECT account_id, coalesce(key_id, '00000000-0000-0000-0000-000000000000'), date_trunc('hour', created_at, 'UTC'),
               model, coalesce(upstream_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
               sum(sign), sum(sign * input_tokens), sum(sign * output_tokens), sum(sign * cache_creation_5m_input_tokens),
               sum(sign * cache_creation_1h_input_tokens), sum(sign * cache_read_input_tokens), sum(sign * cost),
               sum(sign * coalesce(upstream_cost, cost))
        FROM (SELECT n.*, 1 AS sign FROM new_records n UNION ALL SELECT o.*, -1 FROM old_records o) d
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 3, 2, 4, 5
        ON CONFLICT (account_id, hour, key_id, model, upstream_id) DO UPDATE SET
            requests = u.requests + EXCLUDED.requests, input_tokens = u.input_tokens + EXCLUDED.input_tokens,
            output_tokens = u.output_tokens + EXCLUDED.output_tokens,
            cache_creation_5m_input_tokens = u.cache_creation_5m_input_tokens + EXCLUDED.cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens = u.cache_creation_1h_input_tokens + EXCLUDED.cache_creation_1h_input_tokens,
            cache_read_input_tokens = u.cache_read_input_tokens + EXCLUDED.cache_read_input_tokens,
            cost = u.cost + EXCLUDED.cost, upstream_cost = u.upstream_cost + EXCLUDED.upstream_cost;
        -- The hours changed are rolled again (tg_roll_usage). Only this rare path changes a past
        -- hour: inserted records are in the current one.
        INSERT INTO usage_rollup_dirty (hour) SELECT DISTINCT date_trunc('hour', created_at, 'UTC') FROM new_records;
    END IF;
    RETURN NULL;
END $$;
