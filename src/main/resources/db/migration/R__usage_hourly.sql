-- The current definition of the usage roll-up trigger function.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

-- Adds inserted records to their hours, or an updated record's difference, in key order so that
-- concurrent batches lock the same hour rows in the same order.
CREATE OR REPLACE FUNCTION tg_add_usage_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_hourly AS u
        SELECT account_id, coalesce(key_id, '00000000-0000-0000-0000-000000000000'), date_trunc('hour', created_at, 'UTC'),
               count(*), sum(input_tokens), sum(output_tokens), sum(cache_creation_5m_input_tokens),
               sum(cache_creation_1h_input_tokens), sum(cache_read_input_tokens), sum(cost)
        FROM new_records GROUP BY 1, 2, 3 ORDER BY 1, 3, 2
        ON CONFLICT (account_id, hour, key_id) DO UPDATE SET
            requests = u.requests + EXCLUDED.requests, input_tokens = u.input_tokens + EXCLUDED.input_tokens,
            output_tokens = u.output_tokens + EXCLUDED.output_tokens,
            cache_creation_5m_input_tokens = u.cache_creation_5m_input_tokens + EXCLUDED.cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens = u.cache_creation_1h_input_tokens + EXCLUDED.cache_creation_1h_input_tokens,
            cache_read_input_tokens = u.cache_read_input_tokens + EXCLUDED.cache_read_input_tokens,
            cost = u.cost + EXCLUDED.cost;
    ELSE
        -- A record replaced in place (an abandoned call's record by its late settlement): the
        -- difference. Its request, account, key and created_at never change.
        UPDATE usage_hourly AS u SET
            input_tokens = u.input_tokens + d.input_tokens, output_tokens = u.output_tokens + d.output_tokens,
            cache_creation_5m_input_tokens = u.cache_creation_5m_input_tokens + d.w5m,
            cache_creation_1h_input_tokens = u.cache_creation_1h_input_tokens + d.w1h,
            cache_read_input_tokens = u.cache_read_input_tokens + d.read, cost = u.cost + d.cost
        FROM (SELECT n.account_id, coalesce(n.key_id, '00000000-0000-0000-0000-000000000000') AS key_id,
                     date_trunc('hour', n.created_at, 'UTC') AS hour,
                     sum(n.input_tokens - o.input_tokens) AS input_tokens, sum(n.output_tokens - o.output_tokens) AS output_tokens,
                     sum(n.cache_creation_5m_input_tokens - o.cache_creation_5m_input_tokens) AS w5m,
                     sum(n.cache_creation_1h_input_tokens - o.cache_creation_1h_input_tokens) AS w1h,
                     sum(n.cache_read_input_tokens - o.cache_read_input_tokens) AS read, sum(n.cost - o.cost) AS cost
              FROM new_records n JOIN old_records o ON o.id = n.id GROUP BY 1, 2, 3 ORDER BY 1, 3, 2) d
        WHERE u.account_id = d.account_id AND u.hour = d.hour AND u.key_id = d.key_id;
    END IF;
    RETURN NULL;
END $$;
