package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Holds are atomic across concurrent calls: an account can never spend more than it has. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class LedgerConcurrencyTest {

    static final String BODY = messageBody("claude-haiku-4-5", 10, "How are you today?");
    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    /** The exact cost of one BODY call, measured on a scratch account. */
    private BigDecimal costOfOneCall() {
        String[] probe = Tollgate.fundedAccount("1");
        client(probe[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        return new BigDecimal(Tollgate.usage(probe[0]).<String>path("data[0].cost_usd"));
    }

    @Test
    void accountFundedForNCallsServesAtMostNOfFiveNConcurrentCalls() throws Exception {
        int n = 10;
        BigDecimal cost = costOfOneCall();
        String funding = cost.multiply(BigDecimal.valueOf(n)).toPlainString();
        String[] acct = Tollgate.fundedAccount(funding);
        fake.reset();

        ExecutorService pool = Executors.newFixedThreadPool(5 * n);
        List<Future<Integer>> calls = new ArrayList<>();
        for (int i = 0; i < 5 * n; i++) {
            calls.add(pool.submit(() -> client(acct[1]).body(BODY).post("/v1/messages").statusCode()));
        }
        int ok = 0;
        for (Future<Integer> call : calls) {
            int status = call.get();
            assertTrue(status == 200 || status == 402, "unexpected status " + status);
            ok += status == 200 ? 1 : 0;
        }
        pool.shutdown();

        assertTrue(ok <= n, ok + " calls succeeded with funds for " + n);
        assertTrue(ok >= 1, "at least one call fits");
        assertEquals(ok, fake.messageCalls(), "a refused call must never reach upstream");
        BigDecimal left = balance(acct[0]);
        assertTrue(left.signum() >= 0, "balance went negative: " + left);
        assertEquals(0, new BigDecimal(funding).subtract(cost.multiply(BigDecimal.valueOf(ok))).compareTo(left));
        assertEquals(ok, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

    @Test
    void nearlyAllOfASmallBalanceIsSpendable() {
        String funding = "0.01";
        String[] acct = Tollgate.fundedAccount(funding);
        String body = messageBody("claude-sonnet-4-6", 16, "Hi");
        int calls = 0;
        while (client(acct[1]).body(body).post("/v1/messages").statusCode() == 200) {
            calls++;
            assertTrue(calls < 1000, "runaway");
        }
        BigDecimal spent = new BigDecimal(funding).subtract(balance(acct[0]));
        BigDecimal share = spent.divide(new BigDecimal(funding), 4, java.math.RoundingMode.DOWN);
        assertTrue(share.compareTo(new BigDecimal("0.90")) >= 0,
                "only " + share + " of the balance was spendable in " + calls + " calls");
        assertReconciled(acct[0]);
    }
}
