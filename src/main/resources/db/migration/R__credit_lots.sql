-- The current definition of the credit lot function.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change it here, never in a V*__ migration.

-- Makes a credit's ledger entry a lot (expiring credit), in the credit's transaction, which holds
-- the account row's lock (tg_credit updated it). The account's attribution checkpoint starts just
-- before its first lot: debits before it cannot draw on any lot.
CREATE OR REPLACE FUNCTION tg_add_lot(p_entry bigint, p_account uuid, p_amount bigint, p_expires_at timestamptz)
    RETURNS void LANGUAGE sql AS $$
    INSERT INTO credit_lot_accounts (account_id, attributed_through) VALUES (p_account, p_entry - 1)
    ON CONFLICT (account_id) DO NOTHING;
    INSERT INTO credit_lots (entry_id, account_id, amount, expires_at) VALUES (p_entry, p_account, p_amount, p_expires_at);
$$;
