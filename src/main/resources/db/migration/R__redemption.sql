-- The current definition of the redemption function.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change it here, never in a V*__ migration.

-- Redeems a code (by its keyed hash) for an account: the code is marked redeemed by a conditional
-- update, so of any number of concurrent redemptions exactly one finds it unredeemed (the others
-- wait for its row lock, then see it taken); then the credit (tg_credit, kind 'redemption', the
-- note naming the code), a credit lot when the code's credit expires, and the low-balance mark.
-- Outcome: 'redeemed' with the entry and the account's totals, or why not: 'unknown',
-- 'already_redeemed', 'revoked', 'expired' (nothing written). Lock order: the code's row, then the account row.
CREATE OR REPLACE FUNCTION tg_redeem(p_code_hash bytea, p_account uuid, p_key uuid)
    RETURNS TABLE (outcome text, code_id uuid, amount bigint, entry_id bigint, balance bigint, held bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    code redemption_codes;
    credit record;
BEGIN
    UPDATE redemption_codes SET redeemed_at = now(), redeemed_by = p_account, redeemed_key_id = p_key
    WHERE code_hash = p_code_hash AND redeemed_at IS NULL AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > now())
    RETURNING * INTO code;
    IF NOT FOUND THEN
        -- A new snapshot: a concurrent redemption that won is visible now.
        SELECT * INTO code FROM redemption_codes WHERE code_hash = p_code_hash;
        RETURN QUERY SELECT CASE WHEN code.id IS NULL THEN 'unknown'
                                 WHEN code.redeemed_at IS NOT NULL THEN 'already_redeemed'
                                 WHEN code.revoked_at IS NOT NULL THEN 'revoked'
                                 ELSE 'expired' END,
                            code.id, code.amount, NULL::bigint, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    SELECT * INTO credit FROM tg_credit(p_account, code.amount, 'redemption', 'redemption code ' || code.id);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'account % not found', p_account;
    END IF;
    UPDATE redemption_codes SET ledger_entry_id = credit.entry_id WHERE id = code.id;
    -- Credit that expires a number of days after the redemption: a lot (tg_add_lot).
    IF code.credit_expires_in_days IS NOT NULL THEN
        PERFORM tg_add_lot(credit.entry_id, p_account, code.amount,
                           now() + make_interval(days => code.credit_expires_in_days));
    END IF;
    PERFORM tg_low_balance(p_account);
    RETURN QUERY SELECT 'redeemed', code.id, code.amount, credit.entry_id, credit.balance, credit.held;
END $$;
