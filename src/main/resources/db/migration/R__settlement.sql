-- The current definition of the settlement functions.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

-- Marks the account's low-balance state after any change of its balance.
CREATE OR REPLACE FUNCTION tg_low_balance(p_account uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE accounts SET low_balance_since = CASE
        WHEN low_balance_threshold IS NOT NULL AND balance - held < low_balance_threshold THEN coalesce(low_balance_since, now())
        ELSE NULL END
    WHERE id = p_account
      AND (low_balance_since IS NULL) <> (low_balance_threshold IS NULL OR balance - held >= low_balance_threshold);
$$;

-- Settles a batch of calls in one transaction: for each, the counters its hold took released (its
-- token estimate replaced by what it used, its cost added to spend), its cost posted, its hold
-- released (or, for a call admitted from a reserve, its draw taken out of the reserve), a ledger
-- entry and its usage record. Returns the indexes (1-based) of the items whose hold was no longer
-- pending: settled late, without a hold (the reaper released it, or a database crash lost it).
--
-- Idempotent by request id: an item whose call already has a usage record (other than the
-- reaper's 'abandoned' one) is skipped whole, so a batch retried after an unknown outcome (the
-- connection lost after the commit, or during the flush) can never charge a call twice. The check
-- costs an index probe per item, so a first attempt (p_recheck false) makes it only for items
-- whose hold is not pending; the unique request id still refuses any other duplicate. Every retry
-- passes p_recheck true.
--
-- p_upstream_costs (each call at list price, what the upstream bills the operator) and p_plans (the
-- plan it was charged under) may be left out by callers that predate plans: the records then count
-- their cost as their upstream cost.
--
-- Performance (docs/benchmarks.md): one statement after the locks; a generic plan (the arrays'
-- lengths made PL/pgSQL re-plan every call); on-time records are plain inserts, and only late ones
-- use ON CONFLICT, to replace the reaper's 'abandoned' record.
CREATE OR REPLACE FUNCTION tg_settle_batch(p_holds uuid[], p_accounts uuid[], p_costs bigint[], p_draws bigint[], p_used_tokens bigint[],
                                p_requests text[], p_keys uuid[], p_models text[], p_input bigint[], p_output bigint[],
                                p_write_5m bigint[], p_write_1h bigint[], p_read bigint[], p_web_searches bigint[],
                                p_status text[], p_http_status int[], p_stream boolean[], p_endpoint text[],
                                p_latency_ms int[], p_upstream_request text[], p_referer text[], p_title text[],
                                p_upstream_ids uuid[], p_upstream_names text[], p_attempts int[], p_recheck boolean,
                                p_upstream_costs bigint[] DEFAULT NULL, p_plans uuid[] DEFAULT NULL)
    RETURNS int[] LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    r    record;
    late int[];
    skip int[];
    missing uuid;
BEGIN
    -- The commit itself is asynchronous so that the account rows are unlocked at once, not after a
    -- WAL flush; LedgerStore makes the batch durable right after (see flushWal) before any caller
    -- hears that its settlement is written. Locks are held for the statement only, never for an fsync.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- Hold rows first, in id order (the order every function locks them in); the counters and the
    -- account rows come after, below.
    PERFORM 1 FROM holds WHERE id = ANY (p_holds) AND state = 'pending' ORDER BY id FOR UPDATE;
    -- Calls already settled (see above): skipped whole.
    SELECT coalesce(array_agg(t.i::int), '{}') INTO skip
    FROM unnest(p_holds, p_requests) WITH ORDINALITY AS t(hold_id, request_id, i)
    WHERE (p_recheck OR NOT EXISTS (SELECT 1 FROM holds h WHERE h.id = t.hold_id AND h.state = 'pending'))
      AND EXISTS (SELECT 1 FROM usage_records u WHERE u.request_id = t.request_id AND u.status <> 'abandoned');
    IF EXISTS (SELECT 1 FROM limit_counters WHERE subject_id = ANY (p_keys) OR subject_id = ANY (p_accounts)) THEN
        -- Key counters first, then account counters, each in id order (the global lock order).
        FOR r IN
            WITH items AS (
                SELECT * FROM unnest(p_holds, p_keys, p_accounts, p_used_tokens, p_costs) WITH ORDINALITY
                    AS t(hold_id, key_id, account_id, used, cost, i)
                WHERE NOT (t.i = ANY (skip))
            ), pending AS (
                SELECT h.* FROM holds h WHERE h.id = ANY (p_holds) AND h.state = 'pending'
            )
            SELECT x.subject, x.held, x.estimated, x.used, x.cost, x.started FROM (
                SELECT h.key_id AS subject, 0 AS side, h.amount AS held, h.estimated_tokens AS estimated, it.used,
                       it.cost, h.created_at AS started
                FROM items it JOIN pending h ON h.id = it.hold_id WHERE h.key_id IS NOT NULL AND h.counted_key
                UNION ALL
                SELECT h.account_id, 1, h.amount, h.estimated_tokens, it.used, it.cost, h.created_at
                FROM items it JOIN pending h ON h.id = it.hold_id WHERE h.counted_account
                -- Late (the reaper released the hold and its counters), or drawn from a reserve (which
                -- takes no counters: its account had no limits when it opened): spend still counts.
                UNION ALL
                SELECT it.key_id, 0, NULL, 0, it.used, it.cost, now() FROM items it
                WHERE it.key_id IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM pending h WHERE h.id = it.hold_id AND NOT h.reserve)
                UNION ALL
                SELECT it.account_id, 1, NULL, 0, it.used, it.cost, now() FROM items it
                WHERE NOT EXISTS (SELECT 1 FROM pending h WHERE h.id = it.hold_id AND NOT h.reserve)
            ) x ORDER BY x.side, x.subject
        LOOP
            PERFORM tg_release(r.subject, r.held, r.estimated, r.used, r.cost, r.started);
        END LOOP;
    END IF;

    PERFORM 1 FROM accounts WHERE id = ANY (p_accounts) ORDER BY id FOR UPDATE;
    -- The checks the dropped foreign keys made row by row, once for the whole batch.
    SELECT x INTO missing FROM (SELECT DISTINCT x FROM unnest(p_accounts) x) d
    WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = x) LIMIT 1;
    IF missing IS NULL THEN
        SELECT x INTO missing FROM (SELECT DISTINCT x FROM unnest(p_keys) x WHERE x IS NOT NULL) d
        WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE id = x) LIMIT 1;
    END IF;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('settlement for an account or key that does not exist: %s', missing);
    END IF;
    WITH items AS (
        SELECT * FROM unnest(p_holds, p_accounts, p_costs, p_draws, p_requests, p_keys, p_models, p_input, p_output,
                             p_write_5m, p_write_1h, p_read, p_web_searches, p_status, p_http_status, p_stream,
                             p_endpoint, p_latency_ms, p_upstream_request, p_referer, p_title, p_upstream_ids,
                             p_upstream_names, p_attempts, p_upstream_costs, p_plans) WITH ORDINALITY
            AS t(hold_id, account_id, cost, draw, request_id, key_id, model, input, output, write_5m, write_1h, read,
                 web_searches, status, http_status, stream, endpoint, latency_ms, upstream_request, referer, title,
                 upstream_id, upstream_name, attempts, upstream_cost, plan_id, i)
        WHERE NOT (t.i = ANY (skip))
    ), closed AS (
        UPDATE holds SET state = CASE WHEN it.cost > 0 THEN 'settled' ELSE 'released' END, closed_at = now()
        FROM items it WHERE holds.id = it.hold_id AND holds.state = 'pending' AND NOT holds.reserve
        RETURNING holds.id, holds.amount
    ), drawn AS (
        -- Calls admitted from a reserve take their draw (at most their own hold) out of it; the
        -- reserve stays open for the instance's next calls.
        UPDATE holds SET amount = holds.amount - d.total
        FROM (SELECT hold_id, sum(draw)::bigint AS total FROM items WHERE draw IS NOT NULL GROUP BY 1) d
        WHERE holds.id = d.hold_id AND holds.reserve AND holds.state = 'pending'
        RETURNING holds.id
    ), settled AS (
        SELECT it.*, CASE WHEN c.id IS NOT NULL THEN c.amount WHEN dr.id IS NOT NULL THEN it.draw END AS released
        FROM items it LEFT JOIN closed c ON c.id = it.hold_id LEFT JOIN drawn dr ON dr.id = it.hold_id
    ), posted AS (
        -- Cost posted, holds released and the low-balance mark (tg_low_balance) in one update.
        UPDATE accounts SET balance = accounts.balance - s.cost, held = accounts.held - s.released,
            low_balance_since = CASE
                WHEN accounts.low_balance_threshold IS NOT NULL
                     AND (accounts.balance - s.cost) - (accounts.held - s.released) < accounts.low_balance_threshold
                THEN coalesce(accounts.low_balance_since, now()) END
        FROM (SELECT account_id, sum(cost)::bigint AS cost, coalesce(sum(released), 0)::bigint AS released
              FROM settled GROUP BY 1) s
        WHERE accounts.id = s.account_id
    ), entries AS (
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
        SELECT s.account_id, CASE WHEN s.cost > 0 THEN 'settlement' ELSE 'release' END, -s.cost,
               -coalesce(s.released, 0), s.hold_id, s.request_id,
               CASE WHEN s.released IS NULL THEN 'settled after its hold expired' END
        FROM settled s WHERE s.cost > 0 OR (s.released IS NOT NULL AND (s.draw IS NULL OR s.released > 0))
        ORDER BY s.i
    ), records AS (
        -- Calls settled on time have no record yet: only tg_reap writes one early, for a hold it
        -- expired. A plain insert, without ON CONFLICT's pre-check of every request id.
        INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens,
                                   cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
                                   cache_read_input_tokens, web_search_requests, cost, status, http_status, stream,
                                   endpoint, latency_ms, upstream_request_id, referer, title, upstream_id,
                                   upstream_name, attempts, upstream_cost, plan_id)
        SELECT s.request_id, s.account_id, s.key_id, s.model, s.input, s.output, s.write_5m, s.write_1h, s.read,
               s.web_searches, s.cost, s.status, s.http_status, s.stream, s.endpoint, s.latency_ms,
               s.upstream_request, s.referer, s.title, s.upstream_id, s.upstream_name, s.attempts, s.upstream_cost,
               s.plan_id
        FROM settled s WHERE s.released IS NOT NULL ORDER BY s.i
    )
    SELECT coalesce(array_agg(s.i::int ORDER BY s.i) FILTER (WHERE s.released IS NULL), '{}') INTO late FROM settled s;
    IF cardinality(late) > 0 THEN
        -- A late call replaces the 'abandoned' record tg_reap may have written for it.
        INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens,
                                   cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
                                   cache_read_input_tokens, web_search_requests, cost, status, http_status, stream,
                                   endpoint, latency_ms, upstream_request_id, referer, title, upstream_id,
                                   upstream_name, attempts, upstream_cost, plan_id)
        SELECT p_requests[i], p_accounts[i], p_keys[i], p_models[i], p_input[i], p_output[i], p_write_5m[i],
               p_write_1h[i], p_read[i], p_web_searches[i], p_costs[i], p_status[i], p_http_status[i], p_stream[i],
               p_endpoint[i], p_latency_ms[i], p_upstream_request[i], p_referer[i], p_title[i], p_upstream_ids[i],
               p_upstream_names[i], p_attempts[i], p_upstream_costs[i], p_plans[i]
        FROM unnest(late) AS i ORDER BY i
        ON CONFLICT (request_id) DO UPDATE SET
            input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
            cache_creation_5m_input_tokens = EXCLUDED.cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens = EXCLUDED.cache_creation_1h_input_tokens,
            cache_read_input_tokens = EXCLUDED.cache_read_input_tokens,
            web_search_requests = EXCLUDED.web_search_requests, cost = EXCLUDED.cost, status = EXCLUDED.status,
            http_status = EXCLUDED.http_status, latency_ms = EXCLUDED.latency_ms,
            upstream_request_id = EXCLUDED.upstream_request_id, upstream_id = EXCLUDED.upstream_id,
            upstream_name = EXCLUDED.upstream_name, attempts = EXCLUDED.attempts,
            upstream_cost = EXCLUDED.upstream_cost, plan_id = EXCLUDED.plan_id;
    END IF;
    RETURN late;
END $$;
