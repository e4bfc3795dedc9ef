-- Group commit: one instance's concurrent holds, and its concurrent settlements, each written as
-- one statement and one transaction (LedgerStore's writers batch whatever queued up while the
-- previous batch was in the database). Per call the rows are the same as with tg_hold/tg_settle;
-- what is shared is the round trip, the commit (one WAL flush for a whole batch of settlements)
-- and the account row's lock (taken once per batch, not once per call). A hot account no longer
-- serialises its calls one commit at a time.
--
-- Lock order, the same as everywhere else: hold rows, then key counters (by id), then account
-- counters (by id), then account rows (by id).

-- Holds for calls whose key and account have no limits; the balance check is the same conditional
-- test as tg_hold's, applied to the items in order with the batch's earlier holds counted.
-- Outcome per item (1-based index into the arrays):
--   'held'     the hold is placed
--   'limited'  the key or the account has limits: the caller places this hold with tg_hold
--   'short'    the balance cannot cover it; available / fit_max / fit_min as tg_hold's TG402 says
-- Like tg_hold, the batch commits asynchronously (see tg_hold for why that is safe).
CREATE FUNCTION tg_hold_batch(p_holds uuid[], p_accounts uuid[], p_keys uuid[], p_requests text[], p_models text[],
                              p_endpoints text[], p_streams boolean[], p_amounts bigint[], p_tokens bigint[],
                              p_ttl_seconds int[])
    RETURNS TABLE (item int, outcome text, available bigint, fit_max boolean, fit_min int) LANGUAGE plpgsql AS $$
DECLARE
    r           record;
    a           accounts;
    current_id  uuid;
    remaining   bigint;
    limited     boolean;
    accepted    int[] := '{}';
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM 1 FROM accounts WHERE id = ANY (p_accounts) ORDER BY id FOR UPDATE;
    FOR r IN SELECT i, p_accounts[i] AS account_id, p_amounts[i] AS amount,
                    coalesce(tg_has_limits(k.requests_per_minute, k.tokens_per_minute, k.max_concurrent,
                                           k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit),
                             false) AS key_limited
             FROM generate_subscripts(p_accounts, 1) AS i
             LEFT JOIN api_keys k ON k.id = p_keys[i]
             ORDER BY p_accounts[i], i
    LOOP
        IF current_id IS DISTINCT FROM r.account_id THEN
            current_id := r.account_id;
            SELECT * INTO a FROM accounts WHERE id = r.account_id;
            limited := FOUND AND tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                                               a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit);
            remaining := coalesce(a.balance - a.held, 0);
        END IF;
        item := r.i;
        IF r.key_limited OR limited THEN
            outcome := 'limited';
        ELSIF a.id IS NULL OR remaining < r.amount THEN
            outcome := 'short';
            available := remaining;
            fit_max := coalesce(a.fit_max_tokens, false);
            fit_min := coalesce(a.fit_min_tokens, 0);
        ELSE
            outcome := 'held';
            remaining := remaining - r.amount;
            accepted := accepted || r.i;
        END IF;
        RETURN NEXT;
        available := NULL; fit_max := NULL; fit_min := NULL;
    END LOOP;
    UPDATE accounts SET held = held + s.total
    FROM (SELECT p_accounts[i] AS id, sum(p_amounts[i]) AS total FROM unnest(accepted) AS i GROUP BY 1) s
    WHERE accounts.id = s.id;
    INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, estimated_tokens, expires_at,
                       counted_key, counted_account)
    SELECT p_holds[i], p_accounts[i], p_keys[i], p_requests[i], p_models[i], p_endpoints[i], p_streams[i], p_amounts[i],
           p_tokens[i], now() + make_interval(secs => p_ttl_seconds[i]), false, false
    FROM unnest(accepted) AS i;
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
    SELECT p_accounts[i], 'hold', 0, p_amounts[i], p_holds[i], p_requests[i] FROM unnest(accepted) AS i;
END $$;

-- Settles a batch of calls: tg_settle's work for every item, in one statement and one durable
-- commit. Returns the indexes of the items whose hold had already been released by the reaper
-- (settled late, without their hold, exactly as tg_settle does).
CREATE FUNCTION tg_settle_batch(p_holds uuid[], p_accounts uuid[], p_costs bigint[], p_used_tokens bigint[],
                                p_requests text[], p_keys uuid[], p_models text[], p_input bigint[], p_output bigint[],
                                p_write_5m bigint[], p_write_1h bigint[], p_read bigint[], p_web_searches bigint[],
                                p_status text[], p_http_status int[], p_stream boolean[], p_endpoint text[],
                                p_latency_ms int[], p_upstream_request text[], p_referer text[], p_title text[])
    RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    n       int := cardinality(p_holds);
    closed  holds[];
    late    int[];
    r       record;
BEGIN
    -- 1. Close the holds that are still pending; the others were reaped and settle late.
    WITH items AS (SELECT i, p_holds[i] AS hold_id FROM generate_series(1, n) AS i),
         upd AS (
             UPDATE holds h SET state = CASE WHEN p_costs[items.i] > 0 THEN 'settled' ELSE 'released' END,
                                closed_at = now()
             FROM items WHERE h.id = items.hold_id AND h.state = 'pending'
             RETURNING h.*)
    SELECT array_agg(upd) INTO closed FROM upd;
    closed := coalesce(closed, '{}');
    SELECT array_agg(i ORDER BY i) INTO late
    FROM generate_series(1, n) AS i WHERE p_holds[i] NOT IN (SELECT c.id FROM unnest(closed) AS c);
    late := coalesce(late, '{}');

    -- 2. Limit counters: key counters first, then account counters, each in id order.
    FOR r IN
        SELECT subject, kind_order, held, estimated, used, cost, started FROM (
            SELECT c.key_id AS subject, 0 AS kind_order, c.amount AS held, c.estimated_tokens AS estimated,
                   p_used_tokens[i] AS used, p_costs[i] AS cost, c.created_at AS started
            FROM generate_series(1, n) AS i JOIN unnest(closed) AS c ON c.id = p_holds[i]
            WHERE c.key_id IS NOT NULL AND c.counted_key
            UNION ALL
            SELECT c.account_id, 1, c.amount, c.estimated_tokens, p_used_tokens[i], p_costs[i], c.created_at
            FROM generate_series(1, n) AS i JOIN unnest(closed) AS c ON c.id = p_holds[i]
            WHERE c.counted_account
            -- Late: the reaper released the hold and its counters; spend still counts where counters exist.
            UNION ALL
            SELECT p_keys[i], 0, NULL, 0, p_used_tokens[i], p_costs[i], now()
            FROM unnest(late) AS i WHERE p_keys[i] IS NOT NULL
            UNION ALL
            SELECT p_accounts[i], 1, NULL, 0, p_used_tokens[i], p_costs[i], now() FROM unnest(late) AS i
        ) releases
        WHERE EXISTS (SELECT 1 FROM limit_counters lc WHERE lc.subject_id = releases.subject)
        ORDER BY kind_order, subject
    LOOP
        PERFORM tg_release(r.subject, r.held, r.estimated, r.used, r.cost, r.started);
    END LOOP;

    -- 3. Accounts, in id order: costs posted, closed holds released.
    PERFORM 1 FROM accounts WHERE id = ANY (p_accounts) ORDER BY id FOR UPDATE;
    UPDATE accounts SET balance = balance - s.cost, held = held - s.released
    FROM (SELECT p_accounts[i] AS id, sum(p_costs[i]) AS cost,
                 coalesce(sum(c.amount), 0) AS released
          FROM generate_series(1, n) AS i LEFT JOIN unnest(closed) AS c ON c.id = p_holds[i]
          GROUP BY 1) s
    WHERE accounts.id = s.id;

    -- 4. The ledger entries and the usage records.
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
    SELECT p_accounts[i],
           CASE WHEN p_costs[i] > 0 THEN 'settlement' ELSE 'release' END,
           -p_costs[i], -coalesce(c.amount, 0), p_holds[i], p_requests[i],
           CASE WHEN c.id IS NULL THEN 'settled after its hold expired' END
    FROM generate_series(1, n) AS i LEFT JOIN unnest(closed) AS c ON c.id = p_holds[i]
    WHERE c.id IS NOT NULL OR p_costs[i] > 0
    ORDER BY i;
    INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens,
                               cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, cache_read_input_tokens,
                               web_search_requests, cost, status, http_status, stream, endpoint, latency_ms,
                               upstream_request_id, referer, title)
    SELECT p_requests[i], p_accounts[i], p_keys[i], p_models[i], p_input[i], p_output[i], p_write_5m[i], p_write_1h[i],
           p_read[i], p_web_searches[i], p_costs[i], p_status[i], p_http_status[i], p_stream[i], p_endpoint[i],
           p_latency_ms[i], p_upstream_request[i], p_referer[i], p_title[i]
    FROM generate_series(1, n) AS i ORDER BY i
    ON CONFLICT (request_id) DO UPDATE SET
        input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
        cache_creation_5m_input_tokens = EXCLUDED.cache_creation_5m_input_tokens,
        cache_creation_1h_input_tokens = EXCLUDED.cache_creation_1h_input_tokens,
        cache_read_input_tokens = EXCLUDED.cache_read_input_tokens, web_search_requests = EXCLUDED.web_search_requests,
        cost = EXCLUDED.cost, status = EXCLUDED.status, http_status = EXCLUDED.http_status,
        latency_ms = EXCLUDED.latency_ms, upstream_request_id = EXCLUDED.upstream_request_id;

    -- 5. Low-balance marks, once per account.
    PERFORM tg_low_balance(id) FROM (SELECT DISTINCT unnest(p_accounts) AS id ORDER BY 1) s;
    RETURN late;
END $$;

-- Every settlement goes through tg_settle_batch now (a single call is a batch of one). tg_hold
-- stays: it admits the calls that have limits, whose counters are checked one call at a time.
DROP FUNCTION tg_settle(uuid, uuid, bigint, bigint, text, uuid, text, bigint, bigint, bigint, bigint, bigint, bigint,
                        text, int, boolean, text, int, text, text, text);
