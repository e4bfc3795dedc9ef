-- Every settled call writes a usage record and a ledger entry. This cuts what each of those rows
-- costs the database: a batch of 25 settlements takes 2.2-2.5 ms instead of 3.6-3.7
-- (bench/settle-batch.sh), and PostgreSQL's CPU per call under saturated load fell by a third
-- (docs/benchmarks.md, "Lighter settlement writes").
--
-- 1. Two indexes of usage_records served no query that another index does not serve as well:
--    * usage_records_account (account_id, id DESC): the admin usage listing now pages in the order
--      of usage_records_account_page (account_id, created_at DESC, id DESC), which also serves the
--      self-service page and every per-account sum;
--    * usage_records_key (key_id, id DESC): the one per-key query (tg_seed_counters) filters by
--      key_id alone, which usage_records_key_created (key_id, created_at DESC) serves.
--
-- 2. The foreign keys of the two append-only tables to accounts and api_keys checked every row on
--    its own (a locking look-up per key per row, three per settled call): about a quarter of a
--    settlement batch's time. What they guaranteed stays guaranteed:
--    * no row names a missing account or key: every writer takes its ids from rows it has just
--      read or locked (holds, accounts), and tg_settle_batch, the one writer whose ids come from
--      the application, checks each distinct id of its batch once;
--    * no account or key with history can disappear: accounts and keys are never deleted (keys
--      are revoked), and a trigger now refuses any DELETE or TRUNCATE of either table.
--    holds keeps its foreign keys: a hold row is written per call only when a call cannot be
--    admitted from a reserve.
DROP INDEX usage_records_account;
DROP INDEX usage_records_key;
ALTER TABLE usage_records DROP CONSTRAINT usage_records_account_id_fkey,
                          DROP CONSTRAINT usage_records_key_id_fkey;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_account_id_fkey;

CREATE FUNCTION tg_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = format('%s rows are never deleted: the ledger and the usage records keep their history '
                         '(revoke a key instead)', TG_TABLE_NAME);
END $$;
CREATE TRIGGER accounts_never_deleted BEFORE DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION tg_refuse_delete();
CREATE TRIGGER accounts_never_truncated BEFORE TRUNCATE ON accounts FOR EACH STATEMENT EXECUTE FUNCTION tg_refuse_delete();
CREATE TRIGGER api_keys_never_deleted BEFORE DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION tg_refuse_delete();
CREATE TRIGGER api_keys_never_truncated BEFORE TRUNCATE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION tg_refuse_delete();

-- tg_settle_batch of V3, with the batch's accounts and keys checked once after the account lock.
CREATE OR REPLACE FUNCTION tg_settle_batch(p_holds uuid[], p_accounts uuid[], p_costs bigint[], p_draws bigint[], p_used_tokens bigint[],
                                p_requests text[], p_keys uuid[], p_models text[], p_input bigint[], p_output bigint[],
                                p_write_5m bigint[], p_write_1h bigint[], p_read bigint[], p_web_searches bigint[],
                                p_status text[], p_http_status int[], p_stream boolean[], p_endpoint text[],
                                p_latency_ms int[], p_upstream_request text[], p_referer text[], p_title text[])
    RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
    r    record;
    late int[];
    missing uuid;
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
