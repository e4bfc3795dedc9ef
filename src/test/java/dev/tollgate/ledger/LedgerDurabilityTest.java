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
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Holds commit asynchronously (a lost hold is covered by the late settlement); settlements must
 * be durable before anyone is told they are written: their batch commits asynchronously (its locks
 * are released before the WAL flush) and is then flushed by a synchronous commit. Checked inside one rolled-back transaction, where the setting is observable.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class LedgerDurabilityTest {

    @Inject
    AgroalDataSource dataSource;

    @Test
    void holdsCommitAsynchronouslyAndSettlementsDurably() throws Exception {
        String account = Tollgate.fundedAccount("1")[0];
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            UUID hold = UUID.randomUUID();
            // The limits path, one call at a time.
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM tg_hold(?, ?, NULL, 'req_d', 'm', '/v1/messages', false, 10, 1, 60)")) {
                ps.setObject(1, hold);
                ps.setObject(2, UUID.fromString(account));
                ps.executeQuery().close();
            }
            assertEquals("off", setting(c));
            c.rollback();

            // The group-committed path every call without limits takes.
            try (PreparedStatement ps = c.prepareStatement("SELECT * FROM tg_hold_batch(ARRAY[?]::uuid[], ARRAY[?]::uuid[],"
                    + " '{NULL}', '{req_e}', '{m}', '{/v1/messages}', '{false}', '{10}', '{1}', '{60}')")) {
                ps.setObject(1, hold);
                ps.setObject(2, UUID.fromString(account));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertEquals("held", rs.getString("outcome"));
                }
            }
            assertEquals("off", setting(c));
            c.commit();
            try (PreparedStatement ps = c.prepareStatement("SELECT tg_settle_batch(ARRAY[?]::uuid[], ARRAY[?]::uuid[],"
                    + " '{5}', '{NULL}', '{1}', '{req_e}', '{NULL}', '{m}', '{1}', '{0}', '{0}', '{0}', '{0}', '{0}', '{ok}', '{200}',"
                    + " '{false}', '{/v1/messages}', '{1}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{NULL}', '{1}', false)")) {
                ps.setObject(1, hold);
                ps.setObject(2, UUID.fromString(account));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertEquals(0, ((Integer[]) rs.getArray(1).getArray()).length, "the hold was settled on time");
                }
            }
            // The batch commits without waiting for its flush, so its locks go at once ...
            assertEquals("off", setting(c));
            c.commit();
            String committedUpTo = lsn(c, "pg_current_wal_insert_lsn()");
            // ... and LedgerStore's next statement on the connection makes it durable.
            c.setAutoCommit(true);
            LedgerStore.flushWal(c);
            try (ResultSet rs = c.createStatement().executeQuery(
                    "SELECT pg_current_wal_flush_lsn() >= '" + committedUpTo + "'::pg_lsn")) {
                rs.next();
                org.junit.jupiter.api.Assertions.assertTrue(rs.getBoolean(1), "the settlement's WAL is flushed");
            }
        }
        Tollgate.assertReconciled(account);
    }

    /** The test profile's mode (and the Lambda build's): a response means its settlement is committed. */
    @Test
    void withSettlementBeforeResponseTheResponseWaitsForTheCommit() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (Connection blocker = dataSource.getConnection()) {
            blocker.setAutoCommit(false);
            blocker.createStatement().execute("LOCK TABLE usage_records IN EXCLUSIVE MODE");
            var call = pool.submit(() -> Tollgate.client(acct[1])
                    .body(Tollgate.messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages").statusCode());
            org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> call.get(500, java.util.concurrent.TimeUnit.MILLISECONDS), "responded before settling");
            blocker.commit();
            assertEquals(200, call.get(10, java.util.concurrent.TimeUnit.SECONDS));
        } finally {
            pool.shutdown();
        }
        org.junit.jupiter.api.Assertions.assertTrue(Tollgate.balance(acct[0]).compareTo(java.math.BigDecimal.ONE) < 0,
                "charged by the time the response arrived");
        Tollgate.assertReconciled(acct[0]);
    }

    private static String lsn(Connection c, String function) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery("SELECT " + function)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String setting(Connection c) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery("SELECT current_setting('synchronous_commit')")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
