-- The current definition of the limit-counter functions.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

-- Rolls a counter row to the current minute/day/month (in memory; the caller writes it back).
CREATE OR REPLACE FUNCTION tg_roll(c limit_counters) RETURNS limit_counters LANGUAGE plpgsql AS $$
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
-- p_slot false (a message batch's hold): spend and the request count, but no concurrency slot.
-- Returns the updated counters (for the anthropic-ratelimit-* headers).
-- Its signature before p_slot, which a database migrated earlier still has, would remain beside it.
DROP FUNCTION IF EXISTS tg_admit(uuid, text, int, bigint, int, bigint, bigint, bigint, bigint, bigint);
CREATE OR REPLACE FUNCTION tg_admit(p_subject uuid, p_kind text, p_rpm int, p_tpm bigint, p_concurrent int,
                         p_day bigint, p_month bigint, p_lifetime bigint, p_tokens bigint, p_amount bigint,
                         p_slot boolean DEFAULT true)
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
    IF p_slot AND p_concurrent IS NOT NULL AND c.inflight + 1 > p_concurrent THEN
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
        inflight = c.inflight + CASE WHEN p_slot THEN 1 ELSE 0 END, inflight_held = c.inflight_held + p_amount,
        day = c.day, day_spent = c.day_spent, month = c.month, month_spent = c.month_spent
    WHERE subject_id = p_subject RETURNING * INTO c;
    RETURN c;
END $$;

-- Closes one call on one subject's counters: in flight no more, its estimate replaced by the
-- tokens it used (in the window it was counted in, if that is still current), its cost spent.
-- p_slot false: the hold took no concurrency slot (a message batch's), so none is given back.
-- Its signature before p_slot, which a database migrated earlier still has, would remain beside it.
DROP FUNCTION IF EXISTS tg_release(uuid, bigint, bigint, bigint, bigint, timestamptz);
CREATE OR REPLACE FUNCTION tg_release(p_subject uuid, p_held bigint, p_estimated bigint, p_used bigint, p_cost bigint,
                           p_started timestamptz, p_slot boolean DEFAULT true) RETURNS void LANGUAGE plpgsql AS $$
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
        inflight = greatest(0, c.inflight - CASE WHEN p_held IS NULL OR NOT p_slot THEN 0 ELSE 1 END),
        inflight_held = greatest(0, c.inflight_held - coalesce(p_held, 0)),
        day = c.day, day_spent = c.day_spent + p_cost, month = c.month, month_spent = c.month_spent + p_cost,
        lifetime_spent = c.lifetime_spent + p_cost
    WHERE subject_id = p_subject;
END $$;

-- A subject has a limit (only then are its counters kept).
CREATE OR REPLACE FUNCTION tg_has_limits(rpm int, tpm bigint, concurrent int, day bigint, month bigint, lifetime bigint)
    RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT rpm IS NOT NULL OR tpm IS NOT NULL OR concurrent IS NOT NULL OR day IS NOT NULL
        OR month IS NOT NULL OR lifetime IS NOT NULL
$$;

-- (Re)builds a subject's counters from the ledger's own records: spend from its usage records,
-- in flight from every pending hold of a call or batch of the subject (a batch's: its amount, no
-- concurrency slot), and the current and previous minute's
-- requests (settled calls and calls in flight) and tokens (settled calls). Called when a subject's
-- limits go from none to some, so a limit set now counts what already happened, calls in flight
-- included: each such hold is marked as counted, so its settlement (or expiry) releases exactly
-- what is counted here. A reserve is no call: the calls admitted from it count when they settle.
CREATE OR REPLACE FUNCTION tg_seed_counters(p_subject uuid, p_is_key boolean) RETURNS void LANGUAGE plpgsql AS $$
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
    WITH counted AS (
        UPDATE holds SET counted_key = counted_key OR p_is_key, counted_account = counted_account OR NOT p_is_key
        WHERE state = 'pending' AND NOT reserve
          AND ((p_is_key AND key_id = p_subject) OR (NOT p_is_key AND account_id = p_subject))
        RETURNING amount, created_at, takes_slot
    )
    SELECT count(*) FILTER (WHERE takes_slot), coalesce(sum(amount), 0),
           count(*) FILTER (WHERE created_at >= minute),
           count(*) FILTER (WHERE created_at >= minute - interval '1 minute' AND created_at < minute)
      INTO n, held, pending_now, pending_prev
      FROM counted;
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
