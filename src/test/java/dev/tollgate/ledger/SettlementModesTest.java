package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.held;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The production default: the response goes out at once and the settlement follows, while the
 * hold keeps covering the call. A settlement is held back here by locking usage_records, which
 * only settlements write (a hold never touches it).
 */
@QuarkusTest
@TestProfile(SettlementModesTest.RespondThenSettle.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class SettlementModesTest {

    public static class RespondThenSettle implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.settlement.before-response", "false", "tollgate.settlement.max-queued", "2");
        }
    }

    static final String BODY = messageBody("claude-haiku-4-5", 10, "How are you today?");

    @Inject
    AgroalDataSource dataSource;

    @Test
    void theResponseDoesNotWaitForItsSettlementAndTheHoldCoversTheGap() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection blocker = dataSource.getConnection()) {
            holdBackSettlements(blocker);
            // Bounded: were the response to wait for its settlement, this would time out, not hang.
            assertEquals(200, pool.submit(() -> client(acct[1]).body(BODY).post("/v1/messages").statusCode())
                    .get(10, TimeUnit.SECONDS));
            assertEquals(0, new BigDecimal("1").compareTo(balance(acct[0])), "nothing is charged yet");
            assertTrue(held(acct[0]).signum() > 0, "the call's hold stays until its settlement commits");
            blocker.commit();
        } finally {
            pool.shutdownNow();
        }
        Tollgate.awaitNothingHeld(acct[0]);
        assertTrue(balance(acct[0]).compareTo(BigDecimal.ONE) < 0, "the call was charged");
        assertEquals(1, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

    @Test
    void whenSettlementsBackUpAResponseWaitsForItsOwn() throws Exception {
        // Two accounts: the blocked batch keeps the first account's row locked, which would hold up
        // that account's next holds too.
        String[] first = Tollgate.fundedAccount("1");
        String[] acct = Tollgate.fundedAccount("1");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection blocker = dataSource.getConnection()) {
            holdBackSettlements(blocker);
            // The first settlement is the writer's (blocked) batch, the second waits in the queue ...
            assertEquals(200, pool.submit(() -> client(first[1]).body(BODY).post("/v1/messages").statusCode())
                    .get(10, TimeUnit.SECONDS));
            assertEquals(200, pool.submit(() -> client(acct[1]).body(BODY).post("/v1/messages").statusCode())
                    .get(10, TimeUnit.SECONDS));
            // ... and with two queued (max-queued=2) the third call's response waits for its settlement.
            Future<Integer> third = pool.submit(() -> client(acct[1]).body(BODY).post("/v1/messages").statusCode());
            org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> third.get(500, TimeUnit.MILLISECONDS), "responded with the ledger backed up");
            blocker.commit();
            assertEquals(200, third.get(10, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
        Tollgate.awaitNothingHeld(acct[0]);
        Tollgate.awaitNothingHeld(first[0]);
        assertEquals(2, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
        assertReconciled(first[0]);
    }

    /** Settlements wait (they insert usage records) until the connection's transaction ends; holds do not. */
    private static void holdBackSettlements(Connection blocker) throws java.sql.SQLException {
        blocker.setAutoCommit(false);
        try (Statement s = blocker.createStatement()) {
            s.execute("LOCK TABLE usage_records IN EXCLUSIVE MODE");
        }
    }

    @Test
    void concurrentCallsAllSettleExactlyOnce() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        int calls = 40;
        assertEquals(java.util.Collections.nCopies(calls, 200), Tollgate.callConcurrently(acct[1], BODY, calls));
        Tollgate.awaitNothingHeld(acct[0]);
        assertEquals(calls, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

}
