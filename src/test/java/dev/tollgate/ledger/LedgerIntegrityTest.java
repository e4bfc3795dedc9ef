package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The usage records and ledger entries have no foreign keys (V6: they cost a quarter of every
 * settlement); what those keys guaranteed is kept by tg_settle_batch's once-per-batch check and by
 * refusing to delete accounts and keys.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class LedgerIntegrityTest {

    private static final String SETTLE_ONE = "SELECT tg_settle_batch('{}'::uuid[] || ?::uuid, '{}'::uuid[] || ?::uuid,"
            + " '{5}', '{NULL}', '{1}', ARRAY[?], '{}'::uuid[] || ?::uuid, '{m}', '{1}', '{0}', '{0}', '{0}', '{0}', '{0}',"
            + " '{ok}', '{200}', '{false}', '{/v1/messages}', '{1}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{1}',"
            + " false)";

    @Inject
    AgroalDataSource dataSource;

    @Test
    void aSettlementForAnAccountThatDoesNotExistWritesNothing() throws SQLException {
        String request = "req_" + UUID.randomUUID();
        SQLException e = assertThrows(SQLException.class, () -> settle(UUID.randomUUID(), null, request));
        assertEquals("23503", e.getSQLState(), e.getMessage());
        assertEquals(0, rowsOf(request));
    }

    @Test
    void aSettlementForAKeyThatDoesNotExistWritesNothing() throws SQLException {
        UUID account = UUID.fromString(Tollgate.fundedAccount("1")[0]);
        String request = "req_" + UUID.randomUUID();
        SQLException e = assertThrows(SQLException.class, () -> settle(account, UUID.randomUUID(), request));
        assertEquals("23503", e.getSQLState(), e.getMessage());
        assertEquals(0, rowsOf(request));
        Tollgate.assertReconciled(account.toString());
    }

    @Test
    void aSettlementForExistingRowsIsWritten() throws SQLException {
        String[] funded = Tollgate.fundedAccount("1");
        UUID account = UUID.fromString(funded[0]);
        String request = "req_" + UUID.randomUUID();
        settle(account, Tollgate.newestKeyId(account.toString()), request);
        assertEquals(2, rowsOf(request), "one usage record and one ledger entry");
    }

    @Test
    void accountsAndKeysWithHistoryAreNeverDeleted() throws SQLException {
        UUID account = UUID.fromString(Tollgate.fundedAccount("1")[0]);
        UUID key = Tollgate.newestKeyId(account.toString());
        assertRefused("DELETE FROM api_keys WHERE id = '" + key + "'");
        assertRefused("DELETE FROM accounts WHERE id = '" + account + "'");
        assertRefused("TRUNCATE api_keys CASCADE");
        assertRefused("TRUNCATE accounts CASCADE");
        Tollgate.assertReconciled(account.toString());
    }

    /** V7: planning the batch statement anew on every call was up to 43% of a small batch's time. */
    @Test
    void settlementBatchesReuseOneGenericPlan() throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT array_to_string(proconfig, ',') FROM pg_proc WHERE proname = 'tg_settle_batch'");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertEquals("plan_cache_mode=force_generic_plan", rs.getString(1));
        }
    }

    /** Runs the statement in a transaction that is rolled back whatever happens; it must be refused. */
    private void assertRefused(String sql) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                SQLException e = assertThrows(SQLException.class, () -> c.createStatement().execute(sql), sql);
                assertEquals("23001", e.getSQLState(), e.getMessage());
            } finally {
                c.rollback();
            }
        }
    }

    private void settle(UUID account, UUID key, String request) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(SETTLE_ONE)) {
            ps.setObject(1, UUID.randomUUID()); // a hold nobody placed: settled "late", without one
            ps.setObject(2, account);
            ps.setString(3, request);
            ps.setObject(4, key);
            ps.executeQuery().close();
        }
    }

    private long rowsOf(String request) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT (SELECT count(*) FROM usage_records WHERE request_id = ?)"
                        + " + (SELECT count(*) FROM ledger_entries WHERE request_id = ?)")) {
            ps.setString(1, request);
            ps.setString(2, request);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
