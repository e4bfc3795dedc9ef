-- Limit counters only for subjects (keys, accounts) that have a limit. Locking and updating two
-- counter rows per statement cost every call about as much again as the money itself (the
-- benchmark's variant runs: 1.8x on one hot account without them), for nothing when no limit is set.
--
-- A hold records whether it took each subject's counters; only such holds release them, so
-- counters stay balanced whatever limits change while calls are in flight. When a subject gets
-- its first limit, tg_seed_counters rebuilds its counters from the ledger's own records.

ALTER TABLE holds
    ADD COLUMN counted_key     boolean NOT NULL DEFAULT true,
    ADD COLUMN counted_account boolean NOT NULL DEFAULT true;

CREATE INDEX usage_records_key_created ON usage_records (key_id, created_at DESC);

CREATE FUNCTION tg_has_limits(rpm int, tpm bigint, concurrent int, day bigint, month bigint, lifetime bigint)
    RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT rpm IS NOT NULL OR tpm IS NOT NULL OR concurrent IS NOT NULL OR day IS NOT NULL
        OR month IS NOT NULL OR lifetime IS NOT NULL
$$;

-- (Re)builds a subject's counters from the ledger's own records: spend from its usage records,
-- in flight from its pending holds that took counters, and the current and previous minute's
-- requests (settled calls and calls in flight) and tokens (settled calls). Called when a subject's
-- limits go from none to some, so a limit set now counts what already happened.
CREATE FUNCTION tg_seed_counters(p_subject uuid, p_is_key boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
    month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    minute timestamptz := date_trunc('minute', now());
    spent_day bigint; spent_month bigint; spent_life bigint; n int; held bigint;
    req_now bigint; req_prev bigint; tok_now bigint; tok_prev bigint; pending_now bigint; pending_prev bigint;
BEGIN
    SELECT coalesce(sum(cost) FILTER (WHERE created_at >= today::timestamp AT TIME ZONE 'UTC'), 0),
           coalesce(sum(cost) FILTER (WHERE created_at >= month::timestamp AT TIME ZONE 'UTC'), 0),
           coalesce(sum(cost), 0),
           count(*) FILTER (WHERE created_at >= minute),
           count(*) FILTER (WHERE created_at >= minute - interval '1 minute' AND created_at < minute),
           coalesce(sum(input_tokens + cache_creation_5m_input_tokens + cache_creation_1h_input_tokens + output_tokens)
                    FILTER (WHERE created_at >= minute), 0),
           coalesce(sum(input_tokens + cache_creation_5m_input_tokens + cache_creation_1h_input_tokens + output_tokens)
                    FILTER (WHERE created_at >= minute - interval '1 minute' AND created_at < minute), 0)
      INTO spent_day, spent_month, spent_life, req_now, req_prev, tok_now, tok_prev
      FROM usage_records WHERE (p_is_key AND key_id = p_subject) OR (NOT p_is_key AND account_id = p_subject);
    SELECT count(*) FILTER (WHERE (p_is_key AND counted_key) OR (NOT p_is_key AND counted_account)),
           coalesce(sum(amount) FILTER (WHERE (p_is_key AND counted_key) OR (NOT p_is_key AND counted_account)), 0),
           count(*) FILTER (WHERE created_at >= minute),
           count(*) FILTER (WHERE created_at >= minute - interval '1 minute' AND created_at < minute)
      INTO n, held, pending_now, pending_prev
      FROM holds WHERE state = 'pending' AND ((p_is_key AND key_id = p_subject) OR (NOT p_is_key AND account_id = p_subject));
    INSERT INTO limit_counters (subject_id, window_start, window_requests, window_tokens, prev_requests, prev_tokens,
                                inflight, inflight_held, day, day_spent, month, month_spent, lifetime_spent)
    VALUES (p_subject, minute, req_now + pending_now, tok_now, req_prev + pending_prev, tok_prev, n, held,
            today, spent_day, month, spent_month, spent_life)
    ON CONFLICT (subject_id) DO UPDATE SET
        window_start = EXCLUDED.window_start, window_requests = EXCLUDED.window_requests,
        window_tokens = EXCLUDED.window_tokens, prev_requests = EXCLUDED.prev_requests,
        prev_tokens = EXCLUDED.prev_tokens, inflight = EXCLUDED.inflight, inflight_held = EXCLUDED.inflight_held,
        day = EXCLUDED.day, day_spent = EXCLUDED.day_spent, month = EXCLUDED.month,
        month_spent = EXCLUDED.month_spent, lifetime_spent = EXCLUDED.lifetime_spent;
END $$;

CREATE OR REPLACE FUNCTION tg_hold(p_hold uuid, p_account uuid, p_key uuid, p_request text, p_model text, p_endpoint text,
                                   p_stream boolean, p_amount bigint, p_tokens bigint, p_ttl_seconds int)
    RETURNS SETOF limit_counters LANGUAGE plpgsql AS $$
DECLARE
    k  api_keys;
    a  accounts;
    kc limit_counters;
    key_counted boolean := false;
    account_counted boolean;
BEGIN
    -- See V3: a hold need not be durable.
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_key IS NOT NULL THEN
        SELECT * INTO k FROM api_keys WHERE id = p_key;
        key_counted := tg_has_limits(k.requests_per_minute, k.tokens_per_minute, k.max_concurrent,
                                     k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit);
        IF key_counted THEN
            kc := tg_admit(p_key, 'key', k.requests_per_minute, k.tokens_per_minute, k.max_concurrent,
                           k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit, p_tokens, p_amount);
        END IF;
    END IF;
    SELECT * INTO a FROM accounts WHERE id = p_account;
    account_counted := tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                                     a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit);
    IF account_counted THEN
        PERFORM tg_admit(p_account, 'account', a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                         a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit, p_tokens, p_amount);
    END IF;
    UPDATE accounts SET held = held + p_amount WHERE id = p_account AND balance - held >= p_amount;
    IF NOT FOUND THEN
        SELECT * INTO a FROM accounts WHERE id = p_account;
        RAISE EXCEPTION USING ERRCODE = 'TG402',
            MESSAGE = format('%s|%s|%s', coalesce(a.balance - a.held, 0),
                            CASE WHEN a.fit_max_tokens THEN 'true' ELSE 'false' END, coalesce(a.fit_min_tokens, 0));
    END IF;
    INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, estimated_tokens, expires_at,
                       counted_key, counted_account)
    VALUES (p_hold, p_account, p_key, p_request, p_model, p_endpoint, p_stream, p_amount, p_tokens,
            now() + make_interval(secs => p_ttl_seconds), key_counted, account_counted);
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
    VALUES (p_account, 'hold', 0, p_amount, p_hold, p_request);
    IF kc.subject_id IS NOT NULL THEN
        RETURN NEXT kc;
    END IF;
END $$;

-- As V2, but a hold releases only the counters it took.
CREATE OR REPLACE FUNCTION tg_settle(p_hold uuid, p_account uuid, p_cost bigint, p_used_tokens bigint, p_request text,
                          p_key uuid, p_model text, p_input bigint, p_output bigint, p_write_5m bigint,
                          p_write_1h bigint, p_read bigint, p_web_searches bigint, p_status text, p_http_status int,
                          p_stream boolean, p_endpoint text, p_latency_ms int, p_upstream_request text,
                          p_referer text, p_title text)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    h    holds;
    kind text := CASE WHEN p_cost > 0 THEN 'settlement' ELSE 'release' END;
BEGIN
    UPDATE holds SET state = CASE WHEN p_cost > 0 THEN 'settled' ELSE 'released' END, closed_at = now()
    WHERE id = p_hold AND state = 'pending' RETURNING * INTO h;
    IF FOUND THEN
        IF h.key_id IS NOT NULL AND h.counted_key THEN
            PERFORM tg_release(h.key_id, h.amount, h.estimated_tokens, p_used_tokens, p_cost, h.created_at);
        END IF;
        IF h.counted_account THEN
            PERFORM tg_release(h.account_id, h.amount, h.estimated_tokens, p_used_tokens, p_cost, h.created_at);
        END IF;
        UPDATE accounts SET balance = balance - p_cost, held = held - h.amount WHERE id = h.account_id;
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
        VALUES (h.account_id, kind, -p_cost, -h.amount, h.id, p_request);
    ELSE
        -- Late: the reaper released the hold (and its counters). Spend still counts where counters exist.
        IF p_key IS NOT NULL THEN
            PERFORM tg_release(p_key, NULL, 0, p_used_tokens, p_cost, now());
        END IF;
        PERFORM tg_release(p_account, NULL, 0, p_used_tokens, p_cost, now());
        IF p_cost > 0 THEN
            UPDATE accounts SET balance = balance - p_cost WHERE id = p_account;
            INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
            VALUES (p_account, 'settlement', -p_cost, 0, p_hold, p_request, 'settled after its hold expired');
        END IF;
    END IF;
    INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens,
                               cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, cache_read_input_tokens,
                               web_search_requests, cost, status, http_status, stream, endpoint, latency_ms,
                               upstream_request_id, referer, title)
    VALUES (p_request, p_account, p_key, p_model, p_input, p_output, p_write_5m, p_write_1h, p_read, p_web_searches,
            p_cost, p_status, p_http_status, p_stream, p_endpoint, p_latency_ms, p_upstream_request, p_referer, p_title)
    ON CONFLICT (request_id) DO UPDATE SET
        input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
        cache_creation_5m_input_tokens = EXCLUDED.cache_creation_5m_input_tokens,
        cache_creation_1h_input_tokens = EXCLUDED.cache_creation_1h_input_tokens,
        cache_read_input_tokens = EXCLUDED.cache_read_input_tokens, web_search_requests = EXCLUDED.web_search_requests,
        cost = EXCLUDED.cost, status = EXCLUDED.status, http_status = EXCLUDED.http_status,
        latency_ms = EXCLUDED.latency_ms, upstream_request_id = EXCLUDED.upstream_request_id;
    PERFORM tg_low_balance(p_account);
    RETURN h.id IS NOT NULL;
END $$;

-- As V2, but an expired hold releases only the counters it took.
CREATE OR REPLACE FUNCTION tg_reap(p_limit int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    n int := 0;
BEGIN
    FOR h IN SELECT * FROM holds WHERE state = 'pending' AND expires_at < now()
             ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED LOOP
        UPDATE holds SET state = 'expired', closed_at = now() WHERE id = h.id;
        IF h.key_id IS NOT NULL AND h.counted_key THEN
            PERFORM tg_release(h.key_id, h.amount, h.estimated_tokens, 0, 0, h.created_at);
        END IF;
        IF h.counted_account THEN
            PERFORM tg_release(h.account_id, h.amount, h.estimated_tokens, 0, 0, h.created_at);
        END IF;
        UPDATE accounts SET held = held - h.amount WHERE id = h.account_id;
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
        VALUES (h.account_id, 'release', 0, -h.amount, h.id, h.request_id, 'hold expired unsettled');
        INSERT INTO usage_records (request_id, account_id, key_id, model, cost, status, http_status, stream, endpoint, latency_ms)
        VALUES (h.request_id, h.account_id, h.key_id, h.model, 0, 'abandoned', 0, h.stream, h.endpoint, 0)
        ON CONFLICT (request_id) DO NOTHING;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;
