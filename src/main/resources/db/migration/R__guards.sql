-- The current definition of the trigger function that keeps accounts and keys from being deleted.
-- Flyway re-applies this file whenever it changes (a repeatable migration, run after the versioned
-- ones): change these functions here, never in a V*__ migration.

CREATE OR REPLACE FUNCTION tg_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = format('%s rows are never deleted: the ledger and the usage records keep their history '
                         '(revoke a key instead)', TG_TABLE_NAME);
END $$;
