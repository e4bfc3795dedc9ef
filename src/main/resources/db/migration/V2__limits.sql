-- Per-key and per-account limits, enforced in PostgreSQL so they hold across any number of
-- instances and survive restarts. Limit columns are NULL when unlimited.

ALTER TABLE api_keys
    ADD COLUMN requests_per_minute    int    CHECK (requests_per_minute > 0),
    ADD COLUMN tokens_per_minute      bigint CHECK (tokens_per_minute > 0),
    ADD COLUMN max_concurrent         int    CHECK (max_concurrent > 0),
    ADD COLUMN daily_spend_limit      bigint CHECK (daily_spend_limit > 0),
    ADD COLUMN monthly_spend_limit    bigint CHECK (monthly_spend_limit > 0),
    ADD COLUMN lifetime_spend_limit   bigint CHECK (lifetime_spend_limit > 0),
    ADD COLUMN allowed_cidrs          text[],
    -- Rotation: the replaced secret keeps working until previous_expires_at.
    ADD COLUMN previous_key_hash      bytea UNIQUE,
    ADD COLUMN previous_expires_at    timestamptz;

ALTER TABLE accounts
    ADD COLUMN requests_per_minute    int    CHECK (requests_per_minute > 0),
    ADD COLUMN tokens_per_minute      bigint CHECK (tokens_per_minute > 0),
    ADD COLUMN max_concurrent         int    CHECK (max_concurrent > 0),
    ADD COLUMN daily_spend_limit      bigint CHECK (daily_spend_limit > 0),
    ADD COLUMN monthly_spend_limit    bigint CHECK (monthly_spend_limit > 0),
    ADD COLUMN lifetime_spend_limit   bigint CHECK (lifetime_spend_limit > 0),
    -- Affordability: lower max_tokens to what the balance pays for instead of refusing (402).
    ADD COLUMN fit_max_tokens         boolean NOT NULL DEFAULT false,
    ADD COLUMN fit_min_tokens         int     NOT NULL DEFAULT 256 CHECK (fit_min_tokens > 0),
    ADD COLUMN low_balance_threshold  bigint CHECK (low_balance_threshold >= 0),
    ADD COLUMN low_balance_since      timestamptz;

ALTER TABLE holds
    ADD COLUMN estimated_tokens bigint  NOT NULL DEFAULT 0,
    -- Whether the hold took the key's / the account's limit counters (only such holds release them).
    ADD COLUMN counted_key      boolean NOT NULL DEFAULT true,
    ADD COLUMN counted_account  boolean NOT NULL DEFAULT true;

-- Running counters of one subject (a key or an account; both ids are UUIDs).
-- Rates use a sliding window estimated from two fixed one-minute windows.
CREATE TABLE limit_counters (
    subject_id       uuid PRIMARY KEY,
    window_start     timestamptz NOT NULL,
    window_requests  bigint NOT NULL DEFAULT 0,
    window_tokens    bigint NOT NULL DEFAULT 0,
    prev_requests    bigint NOT NULL DEFAULT 0,
    prev_tokens      bigint NOT NULL DEFAULT 0,
    inflight         int    NOT NULL DEFAULT 0 CHECK (inflight >= 0),
    inflight_held    bigint NOT NULL DEFAULT 0 CHECK (inflight_held >= 0),
    day              date   NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')::date,
    day_spent        bigint NOT NULL DEFAULT 0,
    month            date   NOT NULL DEFAULT date_trunc('month', now() AT TIME ZONE 'UTC')::date,
    month_spent      bigint NOT NULL DEFAULT 0,
    lifetime_spent   bigint NOT NULL DEFAULT 0
);

-- Who did what in the admin API.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    subject_id  text,
    details     jsonb,
    client_ip   text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_subject ON audit_log (subject_id, id DESC);

CREATE INDEX usage_records_account_created ON usage_records (account_id, created_at DESC);
CREATE INDEX usage_records_key_created ON usage_records (key_id, created_at DESC);

-- Rolls a counter row to the current minute/day/month (in memory; the caller writes it back).
CREATE FUNCTION tg_roll(c limit_counters) RETURNS limit_counters LANGUAGE plpgsql AS $$
DECLARE
    m     timestamptz := date_trunc('minute', now());
    today date        := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    IF c.window_start < m THEN
        IF c.window_start = m - interval '1 minute' THEN
            c.prev_requests := c.window_requests;
            c.prev_tokens := c.window_tokens;
        ELSE
            c.prev_requests := 0;
            c.prev_tokens := 0;
        END IF;
        c.window_requests := 0;
        c.window_tokens := 0;
        c.window_start := m;
    END IF;
    IF c.day <> today THEN
        c.day := today;
        c.day_spent := 0;
    END IF;
    IF c.month <> date_trunc('month', today)::date THEN
        c.month := date_trunc('month', today)::date;
        c.month_spent := 0;
    END IF;
    RETURN c;
END $$;

-- Admits one call against one subject's limits, or raises:
--   TG429 'kind|limit|<limit>|<retry-after seconds>'   rate, tokens or concurrency
--   TG430 'kind|period|<cap>|<spent incl. in flight>'  spend cap (no retry-after)
-- Returns the updated counters (for the anthropic-ratelimit-* headers).
CREATE FUNCTION tg_admit(p_subject uuid, p_kind text, p_rpm int, p_tpm bigint, p_concurrent int,
                         p_day bigint, p_month bigint, p_lifetime bigint, p_tokens bigint, p_amount bigint)
    RETURNS limit_counters LANGUAGE plpgsql AS $$
DECLARE
    c     limit_counters;
    f     float8;
    est   float8;
    wait  int;
BEGIN
    INSERT INTO limit_counters (subject_id, window_start) VALUES (p_subject, date_trunc('minute', now()))
    ON CONFLICT (subject_id) DO NOTHING;
    SELECT * INTO c FROM limit_counters WHERE subject_id = p_subject FOR UPDATE;
    c := tg_roll(c);
    f := extract(epoch FROM now() - c.window_start) / 60.0;
    IF p_rpm IS NOT NULL THEN
        est := c.prev_requests * (1 - f) + c.window_requests;
        IF est + 1 > p_rpm THEN
            wait := CASE WHEN c.window_requests + 1 > p_rpm OR c.prev_requests = 0
                         THEN ceil((1 - f) * 60)
                         ELSE ceil(((1 - (p_rpm - c.window_requests - 1)::float8 / c.prev_requests) - f) * 60) END;
            RAISE EXCEPTION USING ERRCODE = 'TG429', MESSAGE = format('%s|requests|%s|%s', p_kind, p_rpm, greatest(wait, 1));
        END IF;
    END IF;
    IF p_tpm IS NOT NULL THEN
        est := c.prev_tokens * (1 - f) + c.window_tokens;
        IF est + p_tokens > p_tpm THEN
            wait := CASE WHEN p_tokens > p_tpm THEN 60
                         WHEN c.window_tokens + p_tokens > p_tpm OR c.prev_tokens = 0 THEN ceil((1 - f) * 60)
                         ELSE ceil(((1 - (p_tpm - c.window_tokens - p_tokens)::float8 / c.prev_tokens) - f) * 60) END;
            RAISE EXCEPTION USING ERRCODE = 'TG429', MESSAGE = format('%s|tokens|%s|%s', p_kind, p_tpm, greatest(wait, 1));
        END IF;
    END IF;
    IF p_concurrent IS NOT NULL AND c.inflight + 1 > p_concurrent THEN
        RAISE EXCEPTION USING ERRCODE = 'TG429', MESSAGE = format('%s|concurrent|%s|1', p_kind, p_concurrent);
    END IF;
    IF p_day IS NOT NULL AND c.day_spent + c.inflight_held + p_amount > p_day THEN
        RAISE EXCEPTION USING ERRCODE = 'TG430', MESSAGE = format('%s|daily|%s|%s', p_kind, p_day, c.day_spent + c.inflight_held);
    END IF;
    IF p_month IS NOT NULL AND c.month_spent + c.inflight_held + p_amount > p_month THEN
        RAISE EXCEPTION USING ERRCODE = 'TG430', MESSAGE = format('%s|monthly|%s|%s', p_kind, p_month, c.month_spent + c.inflight_held);
    END IF;
    IF p_lifetime IS NOT NULL AND c.lifetime_spent + c.inflight_held + p_amount > p_lifetime THEN
        RAISE EXCEPTION USING ERRCODE = 'TG430', MESSAGE = format('%s|lifetime|%s|%s', p_kind, p_lifetime, c.lifetime_spent + c.inflight_held);
    END IF;
    UPDATE limit_counters SET
        window_start = c.window_start, window_requests = c.window_requests + 1, window_tokens = c.window_tokens + p_tokens,
        prev_requests = c.prev_requests, prev_tokens = c.prev_tokens,
        inflight = c.inflight + 1, inflight_held = c.inflight_held + p_amount,
        day = c.day, day_spent = c.day_spent, month = c.month, month_spent = c.month_spent
    WHERE subject_id = p_subject RETURNING * INTO c;
    RETURN c;
END $$;

-- Closes one call on one subject's counters: in flight no more, its estimate replaced by the
-- tokens it used (in the window it was counted in, if that is still current), its cost spent.
CREATE FUNCTION tg_release(p_subject uuid, p_held bigint, p_estimated bigint, p_used bigint, p_cost bigint,
                           p_started timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c limit_counters;
BEGIN
    SELECT * INTO c FROM limit_counters WHERE subject_id = p_subject FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    c := tg_roll(c);
    IF date_trunc('minute', p_started) = c.window_start THEN
        c.window_tokens := greatest(0, c.window_tokens - p_estimated + p_used);
    ELSIF date_trunc('minute', p_started) = c.window_start - interval '1 minute' THEN
        c.prev_tokens := greatest(0, c.prev_tokens - p_estimated + p_used);
    END IF;
    UPDATE limit_counters SET
        window_start = c.window_start, window_requests = c.window_requests, window_tokens = c.window_tokens,
        prev_requests = c.prev_requests, prev_tokens = c.prev_tokens,
        inflight = greatest(0, c.inflight - CASE WHEN p_held IS NULL THEN 0 ELSE 1 END),
        inflight_held = greatest(0, c.inflight_held - coalesce(p_held, 0)),
        day = c.day, day_spent = c.day_spent + p_cost, month = c.month, month_spent = c.month_spent + p_cost,
        lifetime_spent = c.lifetime_spent + p_cost
    WHERE subject_id = p_subject;
END $$;

-- A subject has a limit (only then are its counters kept).
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

-- One call's admission, in one statement: the key's limits, the account's limits, then the
-- balance; all or nothing. Raises TG429/TG430 (limits, see tg_admit) or
-- TG402 '<available>|<fit_max_tokens>|<fit_min_tokens>' when the balance cannot cover the hold.
-- Lock order (key counters, account counters, account row) is the same in every function.
--
-- Counters are taken only for subjects that have a limit: locking and updating two counter rows
-- per call cost about as much again as the money itself (the benchmark measured 1.8x on one hot
-- account without them), for nothing when no limit is set. The hold records which it took.
--
-- A hold need not be durable: if the database crashes before a hold's commit reaches disk, the
-- hold disappears and the call's settlement (always a durable commit) takes the late path,
-- charging the real cost without it; ledger = usage still holds. A synchronous hold would keep the
-- account's row locked through one WAL flush per call. So the hold commits asynchronously;
-- settlements, top-ups and adjustments stay synchronous.
CREATE FUNCTION tg_hold(p_hold uuid, p_account uuid, p_key uuid, p_request text, p_model text, p_endpoint text,
                        p_stream boolean, p_amount bigint, p_tokens bigint, p_ttl_seconds int)
    RETURNS SETOF limit_counters LANGUAGE plpgsql AS $$
DECLARE
    k  api_keys;
    a  accounts;
    kc limit_counters;
    key_counted boolean := false;
    account_counted boolean;
BEGIN
    -- Asynchronous commit for this transaction only (see above).
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

-- Marks the account's low-balance state after any change of its balance.
CREATE FUNCTION tg_low_balance(p_account uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE accounts SET low_balance_since = CASE
        WHEN low_balance_threshold IS NOT NULL AND balance - held < low_balance_threshold THEN coalesce(low_balance_since, now())
        ELSE NULL END
    WHERE id = p_account
      AND (low_balance_since IS NULL) <> (low_balance_threshold IS NULL OR balance - held >= low_balance_threshold);
$$;

-- Closes a call: the counters it took released, cost posted, the whole hold released, the ledger
-- entry and the usage record written, in one statement. A call whose hold the reaper already
-- released (its instance looked dead) still costs what it cost: it is posted without a hold and
-- completes the 'abandoned' record. Returns false in that late case.
CREATE FUNCTION tg_settle(p_hold uuid, p_account uuid, p_cost bigint, p_used_tokens bigint, p_request text,
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

-- Releases up to p_limit expired pending holds (their instance died), with the counters they
-- took, recording the calls as abandoned. Safe on many instances at once; never touches a settled hold.
CREATE FUNCTION tg_reap(p_limit int) RETURNS int LANGUAGE plpgsql AS $$
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
