-- A hold need not be durable: if the database crashes before a hold's commit reaches disk, the
-- hold disappears, and the call's settlement (always a durable commit) takes the late path:
-- it charges the real cost without the hold, and ledger = usage still holds. What durability
-- bought was one WAL flush per call spent with the account's row locked, which capped one
-- account at roughly one call per flush. So the hold's transaction commits asynchronously;
-- settlements, top-ups and adjustments stay synchronous.
CREATE OR REPLACE FUNCTION tg_hold(p_hold uuid, p_account uuid, p_key uuid, p_request text, p_model text, p_endpoint text,
                                   p_stream boolean, p_amount bigint, p_tokens bigint, p_ttl_seconds int)
    RETURNS SETOF limit_counters LANGUAGE plpgsql AS $$
DECLARE
    k  api_keys;
    a  accounts;
    kc limit_counters;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF p_key IS NOT NULL THEN
        SELECT * INTO k FROM api_keys WHERE id = p_key;
        kc := tg_admit(p_key, 'key', k.requests_per_minute, k.tokens_per_minute, k.max_concurrent,
                       k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit, p_tokens, p_amount);
    END IF;
    SELECT * INTO a FROM accounts WHERE id = p_account;
    PERFORM tg_admit(p_account, 'account', a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                     a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit, p_tokens, p_amount);
    UPDATE accounts SET held = held + p_amount WHERE id = p_account AND balance - held >= p_amount;
    IF NOT FOUND THEN
        SELECT * INTO a FROM accounts WHERE id = p_account;
        RAISE EXCEPTION USING ERRCODE = 'TG402',
            MESSAGE = format('%s|%s|%s', coalesce(a.balance - a.held, 0),
                            CASE WHEN a.fit_max_tokens THEN 'true' ELSE 'false' END, coalesce(a.fit_min_tokens, 0));
    END IF;
    INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, estimated_tokens, expires_at)
    VALUES (p_hold, p_account, p_key, p_request, p_model, p_endpoint, p_stream, p_amount, p_tokens,
            now() + make_interval(secs => p_ttl_seconds));
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
    VALUES (p_account, 'hold', 0, p_amount, p_hold, p_request);
    IF kc.subject_id IS NOT NULL THEN
        RETURN NEXT kc;
    END IF;
END $$;
