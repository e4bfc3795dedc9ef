-- The current definition of the hold functions: placing, reserving, returning and reaping holds.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

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
CREATE OR REPLACE FUNCTION tg_hold_batch(p_holds uuid[], p_accounts uuid[], p_keys uuid[], p_requests text[], p_models text[],
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

-- Opens (p_hold new) or renews (p_hold pending) a reserve, adding p_want to it when the account
-- has at least 8 times that available, so a reserve never takes more than an eighth of what the
-- account's other instances and calls can use. Returns the amount added (0 when only renewed),
-- -1 when the reserve was already returned or reaped, or NULL when the account is to have none: it
-- has limits (every call is then admitted by tg_hold), or it is short of 8 x p_want for a new
-- reserve. Synchronous commit: a reserve is rare and must not outlive a crash less than its calls.
CREATE OR REPLACE FUNCTION tg_reserve(p_hold uuid, p_account uuid, p_want bigint, p_ttl_seconds int)
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
CREATE OR REPLACE FUNCTION tg_return_reserve(p_hold uuid) RETURNS void LANGUAGE plpgsql AS $$
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

-- Releases up to p_limit expired pending holds (their instance stopped renewing them), with the
-- counters they took, recording the calls as abandoned. An expired reserve is returned like any
-- hold, but it is no call, so it leaves no 'abandoned' usage record. Safe on many instances at
-- once (SKIP LOCKED); never touches a settled hold.
CREATE OR REPLACE FUNCTION tg_reap(p_limit int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    h holds;
    n int := 0;
BEGIN
    FOR h IN SELECT * FROM holds WHERE state = 'pending' AND expires_at < now()
             ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED LOOP
        UPDATE holds SET state = 'expired', closed_at = now() WHERE id = h.id;
        IF h.key_id IS NOT NULL AND h.counted_key THEN
            PERFORM tg_release(h.key_id, h.amount, h.estimated_tokens, 0, 0, h.created_at, h.takes_slot);
        END IF;
        IF h.counted_account THEN
            PERFORM tg_release(h.account_id, h.amount, h.estimated_tokens, 0, 0, h.created_at, h.takes_slot);
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

-- The heartbeat of an instance's calls in progress: extends the expiry of their holds, so a long
-- generation or a slow reader never outlives its hold, and the reaper takes only the holds whose
-- instance stopped renewing them (it died). Locks in id order, as every function does. A renewal
-- lost in a crash only lets the reaper act sooner on a hold whose instance is gone anyway, so it
-- commits asynchronously. Returns how many holds were still pending and renewed.
CREATE OR REPLACE FUNCTION tg_renew_holds(p_holds uuid[], p_ttl_seconds int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    UPDATE holds SET expires_at = now() + make_interval(secs => p_ttl_seconds)
    WHERE id IN (SELECT id FROM holds WHERE id = ANY (p_holds) AND state = 'pending' ORDER BY id FOR UPDATE);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- A top-up or an adjustment (p_amount < 0 for a debit), with its ledger entry. A debit that leaves
-- the account holding more than its balance would leave its reserves uncovered: an instance could
-- still admit calls from a reserve whose money is gone. So such a debit revokes every reserve of
-- the account in the same transaction: each is released with its own ledger entry, the instances
-- learn it at their next renewal (tg_reserve answers -1), and the calls they admitted from it
-- meanwhile settle late, without a hold. Returns the entry id, the new balance and held, and how
-- many reserves were revoked; no row when the account does not exist. Lock order: hold rows, then
-- the account row.
CREATE OR REPLACE FUNCTION tg_credit(p_account uuid, p_amount bigint, p_kind text, p_note text)
    RETURNS TABLE (entry_id bigint, balance bigint, held bigint, reserves_revoked int) LANGUAGE plpgsql AS $$
DECLARE
    a accounts;
    h holds;
    entry bigint;
    n int := 0;
BEGIN
    IF p_amount < 0 THEN
        PERFORM 1 FROM holds WHERE account_id = p_account AND reserve AND state = 'pending' ORDER BY id FOR UPDATE;
    END IF;
    UPDATE accounts SET balance = accounts.balance + p_amount WHERE id = p_account RETURNING * INTO a;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, note)
    VALUES (p_account, p_kind, p_amount, 0, p_note) RETURNING id INTO entry;
    IF p_amount < 0 AND a.balance - a.held < 0 THEN
        FOR h IN UPDATE holds SET state = 'released', closed_at = now()
                 WHERE account_id = p_account AND reserve AND state = 'pending' RETURNING * LOOP
            UPDATE accounts SET held = accounts.held - h.amount WHERE id = p_account RETURNING * INTO a;
            INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, note)
            VALUES (p_account, 'release', 0, -h.amount, h.id, 'reserve revoked: the balance no longer covers it');
            n := n + 1;
        END LOOP;
    END IF;
    RETURN QUERY SELECT entry, a.balance, a.held, n;
END $$;
