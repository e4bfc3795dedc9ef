-- The current definition of the Message Batches money functions: a batch's hold and its settlement.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

-- Holds a batch's worst case (the sum of its requests' bounds at batch prices) in one statement:
-- the key's and the account's limits, the conditional balance update, the hold and its ledger
-- entry. Limits: the hold counts in the spend caps (daily, monthly, lifetime) as in-flight spend
-- until the batch is settled, and the creation counts as one request per minute; it takes no
-- concurrency slot (a batch runs up to 24 hours) and no tokens per minute (the upstream limits
-- batches apart from calls). A refusal raises TG429/TG430 as tg_admit does, before anything is
-- held. The hold lives until the batch is settled: its expiry is the batch's own deadline (24 hours
-- upstream) plus a margin, so the reaper leaves it alone while the batch can still run. Returns
-- NULL when held, else the available balance (nothing written). Synchronous commit: a batch is
-- created upstream right after, and its hold must not be lost in a crash.
-- Lock order (key counters, account counters, account row) as in tg_hold.
CREATE OR REPLACE FUNCTION tg_batch_hold(p_hold uuid, p_account uuid, p_key uuid, p_request text, p_model text,
                                         p_amount bigint, p_ttl_seconds int)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    k api_keys;
    a accounts;
    key_counted boolean := false;
    account_counted boolean;
BEGIN
    IF p_key IS NOT NULL THEN
        SELECT * INTO k FROM api_keys WHERE id = p_key;
        key_counted := tg_has_limits(k.requests_per_minute, k.tokens_per_minute, k.max_concurrent,
                                     k.daily_spend_limit, k.monthly_spend_limit, k.lifetime_spend_limit);
        IF key_counted THEN
            PERFORM tg_admit(p_key, 'key', k.requests_per_minute, NULL, NULL, k.daily_spend_limit,
                             k.monthly_spend_limit, k.lifetime_spend_limit, 0, p_amount, false);
        END IF;
    END IF;
    SELECT * INTO a FROM accounts WHERE id = p_account;
    account_counted := tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                                     a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit);
    IF account_counted THEN
        PERFORM tg_admit(p_account, 'account', a.requests_per_minute, NULL, NULL, a.daily_spend_limit,
                         a.monthly_spend_limit, a.lifetime_spend_limit, 0, p_amount, false);
    END IF;
    UPDATE accounts SET held = held + p_amount WHERE id = p_account AND balance - held >= p_amount;
    IF NOT FOUND THEN
        -- Nothing is held, so the caps must not count it in flight (the request itself still counts).
        IF key_counted THEN
            PERFORM tg_release(p_key, p_amount, 0, 0, 0, now(), false);
        END IF;
        IF account_counted THEN
            PERFORM tg_release(p_account, p_amount, 0, 0, 0, now(), false);
        END IF;
        SELECT * INTO a FROM accounts WHERE id = p_account;
        RETURN coalesce(a.balance - a.held, 0);
    END IF;
    INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, estimated_tokens, expires_at,
                       counted_key, counted_account, takes_slot)
    VALUES (p_hold, p_account, p_key, p_request, p_model, '/v1/messages/batches', false, p_amount, 0,
            now() + make_interval(secs => p_ttl_seconds), key_counted, account_counted, false);
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
    VALUES (p_account, 'hold', 0, p_amount, p_hold, p_request, 'message batch');
    RETURN NULL;
END $$;

-- Releases a batch's hold, and what it counted in its key's and account's spend caps, when the
-- upstream refused to create the batch (nothing ran, nothing is owed).
CREATE OR REPLACE FUNCTION tg_batch_release(p_hold uuid, p_note text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    h holds;
BEGIN
    UPDATE holds SET state = 'released', closed_at = now() WHERE id = p_hold AND state = 'pending' RETURNING * INTO h;
    IF FOUND THEN
        IF h.key_id IS NOT NULL AND h.counted_key THEN
            PERFORM tg_release(h.key_id, h.amount, 0, 0, 0, h.created_at, false);
        END IF;
        IF h.counted_account THEN
            PERFORM tg_release(h.account_id, h.amount, 0, 0, 0, h.created_at, false);
        END IF;
        UPDATE accounts SET held = held - h.amount WHERE id = h.account_id;
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
        VALUES (h.account_id, 'release', 0, -h.amount, h.id, h.request_id, p_note);
    END IF;
END $$;

-- Settles an ended batch exactly once, in one transaction: one usage record per request (request id
-- '<batch id>/<custom_id>', with the batch id and custom_id, its cost at the batch's plan and its
-- upstream cost at list price), one settlement entry per charged
-- request, the batch's hold released, the balance debited by the sum, and the batch marked settled.
-- Returns the total charged, or NULL when the batch was already settled (another poller, or an
-- earlier pass whose outcome the caller did not learn): nothing is written then. A batch whose hold
-- the reaper released (its lease passed) is still charged, without a hold, like any late settlement.
-- The key's and account's counters (when kept) move the settled total into spent and give back
-- what the hold counted in flight; a batch settled after its hold expired (the reaper gave back the
-- in-flight part) still adds its total to spent.
-- Lock order: batch row, hold row, key counters, account counters, account row.
CREATE OR REPLACE FUNCTION tg_settle_message_batch(p_batch text, p_custom_ids text[], p_models text[], p_input bigint[],
                                                   p_output bigint[], p_write_5m bigint[], p_write_1h bigint[],
                                                   p_read bigint[], p_web_searches bigint[], p_costs bigint[],
                                                   p_status text[], p_http_status int[], p_upstream_request text[],
                                                   p_upstream_name text, p_upstream_costs bigint[])
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    b message_batches;
    h holds;
    total bigint;
BEGIN
    SELECT * INTO b FROM message_batches WHERE id = p_batch FOR UPDATE;
    IF NOT FOUND OR b.settled_at IS NOT NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO h FROM holds WHERE id = b.hold_id AND state = 'pending' FOR UPDATE;
    SELECT coalesce(sum(c), 0)::bigint INTO total FROM unnest(p_costs) c;
    IF h.id IS NOT NULL THEN
        IF h.key_id IS NOT NULL AND h.counted_key THEN
            PERFORM tg_release(h.key_id, h.amount, 0, 0, total, h.created_at, false);
        END IF;
        IF h.counted_account THEN
            PERFORM tg_release(h.account_id, h.amount, 0, 0, total, h.created_at, false);
        END IF;
    ELSE
        IF b.key_id IS NOT NULL THEN
            PERFORM tg_release(b.key_id, NULL, 0, 0, total, now(), false);
        END IF;
        PERFORM tg_release(b.account_id, NULL, 0, 0, total, now(), false);
    END IF;
    PERFORM 1 FROM accounts WHERE id = b.account_id FOR UPDATE;
    INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, output_tokens,
                               cache_creation_5m_input_tokens, cache_creation_1h_input_tokens, cache_read_input_tokens,
                               web_search_requests, cost, status, http_status, stream, endpoint, latency_ms,
                               upstream_request_id, upstream_id, upstream_name, attempts, batch_id, custom_id,
                               upstream_cost, plan_id)
    SELECT p_batch || '/' || t.custom_id, b.account_id, b.key_id, t.model, t.input, t.output, t.w5m, t.w1h, t.rd,
           t.web, t.cost, t.status, t.http, false, '/v1/messages/batches', 0, t.upstream_request, b.upstream_id,
           p_upstream_name, 1, p_batch, t.custom_id, t.upstream_cost, b.plan_id
    FROM unnest(p_custom_ids, p_models, p_input, p_output, p_write_5m, p_write_1h, p_read, p_web_searches, p_costs,
                p_status, p_http_status, p_upstream_request, p_upstream_costs) WITH ORDINALITY
        AS t(custom_id, model, input, output, w5m, w1h, rd, web, cost, status, http, upstream_request, upstream_cost, i)
    ORDER BY t.i;
    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
    SELECT b.account_id, 'settlement', -t.cost, 0, b.hold_id, p_batch || '/' || t.custom_id,
           CASE WHEN h.id IS NULL THEN 'batch settled after its hold expired' END
    FROM unnest(p_custom_ids, p_costs) WITH ORDINALITY AS t(custom_id, cost, i)
    WHERE t.cost > 0 ORDER BY t.i;
    IF h.id IS NOT NULL THEN
        UPDATE holds SET state = CASE WHEN total > 0 THEN 'settled' ELSE 'released' END, closed_at = now()
        WHERE id = h.id;
        INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
        VALUES (b.account_id, 'release', 0, -h.amount, h.id, h.request_id, 'message batch settled: hold released');
    END IF;
    UPDATE accounts SET balance = balance - total, held = held - coalesce(h.amount, 0) WHERE id = b.account_id;
    PERFORM tg_low_balance(b.account_id);
    UPDATE message_batches SET settled_at = now(), settled_cost = total WHERE id = p_batch;
    RETURN total;
END $$;
