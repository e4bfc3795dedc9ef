-- Group commit: one instance's concurrent holds, and its concurrent settlements, each written as
-- one statement and one transaction (LedgerStore's writers batch whatever queued up while the
-- previous batch was in the database). Per call the rows are the same as with tg_hold/tg_settle;
-- what is shared is the round trip, the commit (one WAL flush for a whole batch of settlements)
-- and the account row's lock (taken once per batch, not once per call). A hot account no longer
-- serialises its calls one commit at a time.
--
-- Lock order, the same as everywhere else: hold rows, then key counters (by id), then account
-- counters (by id), then account rows (by id).

-- Holds for calls whose key and account have no limits. Each account's items are taken in
-- order while the running total fits its available balance (balance - held, under the row lock);
-- from the first item that does not fit, that account's later items in the batch are refused too
-- (never an overdraft; at worst a refusal that a retry a moment later would not get).
-- Outcome per item (1-based index into the arrays):
--   'held'     the hold is placed
--   'limited'  the key or the account has limits: the caller places this hold with tg_hold
--   'short'    the balance cannot cover it; available / fit_max / fit_min as tg_hold's TG402 says
-- Like tg_hold, the batch commits asynchronously (see tg_hold for why that is safe). One statement
-- does it all: per-statement overhead, not rows, is what a batch of one pays for.
CREATE FUNCTION tg_hold_batch(p_holds uuid[], p_accounts uuid[], p_keys uuid[], p_requests text[], p_models text[],
                              p_endpoints text[], p_streams boolean[], p_amounts bigint[], p_tokens bigint[],
                              p_ttl_seconds int[])
    RETURNS TABLE (item int, outcome text, available bigint, fit_max boolean, fit_min int) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    RETURN QUERY
    WITH items AS (
        SELECT * FROM unnest(p_holds, p_accounts, p_keys, p_requests, p_models, p_endpoints, p_streams, p_amounts,
                             p_tokens, p_ttl_seconds) WITH ORDINALITY
            AS t(hold_id, account_id, key_id, request_id, model, endpoint, stream, amount, tokens, ttl, i)
    ), locked AS (
        SELECT a.* FROM accounts a WHERE a.id = ANY (p_accounts) ORDER BY a.id FOR UPDATE
    ), classified AS (
        SELECT it.*, a.id IS NOT NULL AS found, a.balance - a.held AS avail, a.fit_max_tokens, a.fit_min_tokens,
               coalesce(tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                                      a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit), false)
               OR coalesce(tg_has_limits(k.requests_per_minute, k.tokens_per_minute, k.max_concurrent,
                                         k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit), false)
                   AS limited
        FROM items it LEFT JOIN locked a ON a.id = it.account_id LEFT JOIN api_keys k ON k.id = it.key_id
    ), decided AS (
        SELECT c.*, CASE WHEN c.limited THEN 'limited'
                         WHEN c.found AND c.running <= c.avail THEN 'held'
                         ELSE 'short' END AS verdict
        FROM (SELECT cl.*, (sum(cl.amount) FILTER (WHERE NOT cl.limited)
                                OVER (PARTITION BY cl.account_id ORDER BY cl.i))::bigint AS running
              FROM classified cl) c
    ), raised AS (
        UPDATE accounts SET held = accounts.held + s.total
        FROM (SELECT d.account_id, sum(d.amount)::bigint AS total FROM decided d WHERE d.verdict = 'held' GROUP BY 1) s
        WHERE accounts.id = s.account_id
    ), placed AS (
        INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, estimated_tokens,
                           expires_at, counted_key, counted_account)
        SELECT d.hold_id, d.account_id, d.key_id, d.request_id, d.model, d.endpoint, d.stream, d.amount, d.tokens,
               now() + make_interval(secs => d.ttl), false, false
        FROM decided d WHERE d.verdict = 'held'
    ), entries AS (
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
        SELECT d.account_id, 'hold', 0, d.amount, d.hold_id, d.request_id FROM decided d WHERE d.verdict = 'held'
        ORDER BY d.i
    )
    SELECT d.i::int, d.verdict,
           CASE WHEN d.verdict = 'short' THEN coalesce(d.avail - (d.running - d.amount), 0) END,
           CASE WHEN d.verdict = 'short' THEN coalesce(d.fit_max_tokens, false) END,
           CASE WHEN d.verdict = 'short' THEN coalesce(d.fit_min_tokens, 0) END
    FROM decided d;
END $$;

-- Settles a batch of calls: tg_settle's work for every item, in one transaction. Returns the
-- indexes of the items whose hold the reaper had already released (settled late, without their
-- hold, exactly as tg_settle did). The limit counters are touched only when one of the batch's
-- keys or accounts has counter rows; otherwise the whole settlement is one statement after the lock.
CREATE FUNCTION tg_settle_batch(p_holds uuid[], p_accounts uuid[], p_costs bigint[], p_draws bigint[], p_used_tokens bigint[],
                                p_requests text[], p_keys uuid[], p_models text[], p_input bigint[], p_output bigint[],
                                p_write_5m bigint[], p_write_1h bigint[], p_read bigint[], p_web_searches bigint[],
                                p_status text[], p_http_status int[], p_stream boolean[], p_endpoint text[],
                                p_latency_ms int[], p_upstream_request text[], p_referer text[], p_title text[])
    RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    r    record;
    late int[];
BEGIN
    -- The commit itself is asynchronous so that the account rows are unlocked at once, not after a
    -- WAL flush; LedgerStore makes the batch durable right after (see flushWal) before any caller
    -- hears that its settlement is written. Locks are held for the statement only, never for an fsync.
    PERFORM set_config('synchronous_commit', 'off', true);
    -- Hold rows first, in id order (the order every function locks them in); the counters and the
    -- account rows come after, below.
    PERFORM 1 FROM holds WHERE id = ANY (p_holds) AND state = 'pending' ORDER BY id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM limit_counters WHERE subject_id = ANY (p_keys) OR subject_id = ANY (p_accounts)) THEN
        -- Key counters first, then account counters, each in id order (the global lock order).
        FOR r IN
            WITH items AS (
                SELECT * FROM unnest(p_holds, p_keys, p_accounts, p_used_tokens, p_costs)
                    AS t(hold_id, key_id, account_id, used, cost)
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
                -- Late: the reaper released the hold and its counters; spend still counts.
                UNION ALL
                SELECT it.key_id, 0, NULL, 0, it.used, it.cost, now() FROM items it
                WHERE it.key_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pending h WHERE h.id = it.hold_id)
                UNION ALL
                SELECT it.account_id, 1, NULL, 0, it.used, it.cost, now() FROM items it
                WHERE NOT EXISTS (SELECT 1 FROM pending h WHERE h.id = it.hold_id)
            ) x ORDER BY x.side, x.subject
        LOOP
            PERFORM tg_release(r.subject, r.held, r.estimated, r.used, r.cost, r.started);
        END LOOP;
    END IF;

    PERFORM 1 FROM accounts WHERE id = ANY (p_accounts) ORDER BY id FOR UPDATE;
    WITH items AS (
        SELECT * FROM unnest(p_holds, p_accounts, p_costs, p_draws, p_requests, p_keys, p_models, p_input, p_output,
                             p_write_5m, p_write_1h, p_read, p_web_searches, p_status, p_http_status, p_stream,
                             p_endpoint, p_latency_ms, p_upstream_request, p_referer, p_title) WITH ORDINALITY
            AS t(hold_id, account_id, cost, draw, request_id, key_id, model, input, output, write_5m, write_1h, read,
                 web_searches, status, http_status, stream, endpoint, latency_ms, upstream_request, referer, title, i)
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
        INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens,
                                   cache_creation_5m_input_tokens, cache_creation_1h_input_tokens,
                                   cache_read_input_tokens, web_search_requests, cost, status, http_status, stream,
                                   endpoint, latency_ms, upstream_request_id, referer, title)
        SELECT s.request_id, s.account_id, s.key_id, s.model, s.input, s.output, s.write_5m, s.write_1h, s.read,
               s.web_searches, s.cost, s.status, s.http_status, s.stream, s.endpoint, s.latency_ms,
               s.upstream_request, s.referer, s.title
        FROM settled s ORDER BY s.i
        ON CONFLICT (request_id) DO UPDATE SET
            input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
            cache_creation_5m_input_tokens = EXCLUDED.cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens = EXCLUDED.cache_creation_1h_input_tokens,
            cache_read_input_tokens = EXCLUDED.cache_read_input_tokens,
            web_search_requests = EXCLUDED.web_search_requests, cost = EXCLUDED.cost, status = EXCLUDED.status,
            http_status = EXCLUDED.http_status, latency_ms = EXCLUDED.latency_ms,
            upstream_request_id = EXCLUDED.upstream_request_id
    )
    SELECT coalesce(array_agg(s.i::int ORDER BY s.i) FILTER (WHERE s.released IS NULL), '{}') INTO late FROM settled s;
    RETURN late;
END $$;

-- Reserves: an instance holds part of a busy account's balance as one hold (holds.reserve) and
-- admits that account's calls against it in memory, so a call costs no database round trip before
-- it goes upstream (dev.tollgate.ledger.Reserves). Settlements draw from the reserve; the instance
-- returns what is left once the account goes quiet, and the reaper returns it if the instance dies.
ALTER TABLE holds ADD COLUMN reserve boolean NOT NULL DEFAULT false;

-- Opens (p_hold new) or renews (p_hold pending) a reserve, adding p_want to it when the account
-- has at least 8 times that available, so a reserve never takes more than an eighth of what the
-- account's other instances and calls can use. Returns the amount added (0 when only renewed),
-- -1 when the reserve was already returned or reaped, or NULL when the account is to have none: it
-- has limits (every call is then admitted by tg_hold), or it is short of 8 x p_want for a new
-- reserve. Synchronous commit: a reserve is rare and must not outlive a crash less than its calls.
CREATE FUNCTION tg_reserve(p_hold uuid, p_account uuid, p_want bigint, p_ttl_seconds int)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    a accounts;
    granted bigint := 0;
BEGIN
    SELECT * INTO h FROM holds WHERE id = p_hold FOR UPDATE;
    IF FOUND AND (h.state <> 'pending' OR NOT h.reserve) THEN
        RETURN -1;
    END IF;
    SELECT * INTO a FROM accounts WHERE id = p_account FOR UPDATE;
    IF NOT FOUND OR tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent, a.daily_spend_limit,
                                  a.monthly_spend_limit, a.lifetime_spend_limit) THEN
        RETURN NULL;
    END IF;
    IF p_want > 0 AND a.balance - a.held >= 8 * p_want THEN
        granted := p_want;
    END IF;
    IF h.id IS NULL THEN
        IF granted = 0 THEN
            RETURN NULL;
        END IF;
        INSERT INTO holds (id, account_id, request_id, model, endpoint, stream, amount, expires_at, counted_key,
                           counted_account, reserve)
        VALUES (p_hold, p_account, 'reserve ' || p_hold, '', '', false, granted,
                now() + make_interval(secs => p_ttl_seconds), false, false, true);
    ELSE
        UPDATE holds SET amount = amount + granted, expires_at = now() + make_interval(secs => p_ttl_seconds)
        WHERE id = p_hold;
    END IF;
    IF granted > 0 THEN
        UPDATE accounts SET held = held + granted WHERE id = p_account;
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, note)
        VALUES (p_account, 'hold', 0, granted, p_hold, 'reserve');
    END IF;
    RETURN granted;
END $$;

-- Returns what is left of a reserve to its account (its instance has no call in flight on it).
CREATE FUNCTION tg_return_reserve(p_hold uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    h holds;
BEGIN
    UPDATE holds SET state = 'released', closed_at = now()
    WHERE id = p_hold AND reserve AND state = 'pending' RETURNING * INTO h;
    IF FOUND THEN
        UPDATE accounts SET held = held - h.amount WHERE id = h.account_id;
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, note)
        VALUES (h.account_id, 'release', 0, -h.amount, h.id, 'reserve returned');
    END IF;
END $$;

-- tg_reap, now also for reserves: an expired reserve is returned like any hold, but it is no call,
-- so it leaves no 'abandoned' usage record.
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
        VALUES (h.account_id, 'release', 0, -h.amount, h.id, CASE WHEN NOT h.reserve THEN h.request_id END,
                CASE WHEN h.reserve THEN 'reserve expired' ELSE 'hold expired unsettled' END);
        IF NOT h.reserve THEN
            INSERT INTO usage_records (request_id, account_id, key_id, model, cost, status, http_status, stream, endpoint,
                                       latency_ms)
            VALUES (h.request_id, h.account_id, h.key_id, h.model, 0, 'abandoned', 0, h.stream, h.endpoint, 0)
            ON CONFLICT (request_id) DO NOTHING;
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Every settlement goes through tg_settle_batch now (a single call is a batch of one). tg_hold
-- stays: it admits the calls that have limits, whose counters are checked one call at a time.
DROP FUNCTION tg_settle(uuid, uuid, bigint, bigint, text, uuid, text, bigint, bigint, bigint, bigint, bigint, bigint,
                        text, int, boolean, text, int, text, text, text);
