package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.RoundingMode;

import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With the production default (respond, then settle), a developer's previous call may still hold
 * its worst case when the next one arrives. A 402 must be true all the same: a call refused for
 * balance first waits for its account's settlements queued on this instance.
 */
@QuarkusTest
@TestProfile(ProductionDefaults.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class TrueRefusalsTest {

    @Test
    void backToBackCallsSpendNearlyAllOfASmallBalanceEveryTime() throws Exception {
        String funding = "0.01";
        String body = messageBody("claude-sonnet-4-6", 16, "Hi");
        for (int repetition = 1; repetition <= 20; repetition++) {
            String[] acct = Tollgate.fundedAccount(funding);
            int calls = 0;
            int status;
            while ((status = client(acct[1]).body(body).post("/v1/messages").statusCode()) == 200) {
                calls++;
                assertTrue(calls < 1000, "runaway");
            }
            assertTrue(status == 402, "refused with " + status);
            BigDecimal spent = new BigDecimal(funding).subtract(balance(acct[0]));
            BigDecimal share = spent.divide(new BigDecimal(funding), 4, RoundingMode.DOWN);
            int at = repetition;
            int made = calls;
            assertTrue(share.compareTo(new BigDecimal("0.90")) >= 0,
                    () -> "repetition " + at + ": only " + share + " of the balance was spent in " + made + " calls");
            Tollgate.awaitNothingHeld(acct[0]);
            Tollgate.assertReconciled(acct[0]);
        }
    }
}
