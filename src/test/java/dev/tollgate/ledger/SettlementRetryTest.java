package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A settlement batch commits, then is flushed to disk by a second statement. A connection killed
 * between the two (a reset, a failover, pg_terminate_backend) leaves the batch committed while its
 * writer sees a failure: the retry must find what landed and charge nothing again.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class SettlementRetryTest {

    @Inject
    AgroalDataSource dataSource;

    @AfterEach
    void noMoreFaults() {
        LedgerStore.beforeFlush = c -> { };
    }

    @Test
    void aBatchCommittedBeforeItsConnectionDiedIsNeverChargedTwice() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        AtomicBoolean armed = new AtomicBoolean();
        // Kill the settlement's own database connection after its commit, before its flush: once per call.
        LedgerStore.beforeFlush = c -> {
            if (armed.compareAndSet(true, false)) {
                terminate(c);
            }
        };
        String body = messageBody("claude-haiku-4-5", 10, "Hello there");
        for (int i = 0; i < 3; i++) {
            armed.set(true);
            client(acct[1]).body(body).post("/v1/messages").then().statusCode(200);
            assertFalse(armed.get(), "the call's settlement lost its connection after committing");
        }

        List<String> costs = Tollgate.usage(acct[0]).jsonPath().getList("data.cost_usd");
        assertEquals(3, costs.size(), "one usage record per call");
        BigDecimal spent = costs.stream().map(BigDecimal::new).reduce(BigDecimal.ZERO, BigDecimal::add);
        assertEquals(0, BigDecimal.ONE.subtract(spent).compareTo(Tollgate.balance(acct[0])), "each call charged once");
        assertEquals(3, settlementEntries(acct[0]), "one settlement entry per call");
        Tollgate.assertReconciled(acct[0]);
    }

    private void terminate(Connection victim) {
        try (Connection killer = dataSource.getConnection();
             PreparedStatement ps = killer.prepareStatement("SELECT pg_terminate_backend(?)")) {
            ps.setInt(1, victim.unwrap(PGConnection.class).getBackendPID());
            ps.executeQuery().close();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private int settlementEntries(String account) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM ledger_entries WHERE account_id = ?::uuid AND kind = 'settlement'")) {
            ps.setString(1, account);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
