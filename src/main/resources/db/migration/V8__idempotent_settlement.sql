-- tg_settle_batch takes p_recheck (a retry after an unknown outcome finds what already landed
-- instead of charging again; see R__settlement.sql, where every money function is now defined).
-- The old signature goes, so that exactly one definition exists.
DROP FUNCTION tg_settle_batch(uuid[], uuid[], bigint[], bigint[], bigint[], text[], uuid[], text[], bigint[], bigint[],
                              bigint[], bigint[], bigint[], bigint[], text[], int[], boolean[], text[], int[], text[],
                              text[], text[]);
