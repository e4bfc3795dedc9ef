package dev.tollgate.batches;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeBatches.Outcome;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.batches.BatchesTest.batch;
import static dev.tollgate.batches.BatchesTest.request;
import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.held;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A batch counts in its key's and account's spend caps and requests per minute, never in concurrency. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class BatchLimitsTest {

    private static final BigDecimal NANOS = new BigDecimal("1000000000");

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    AgroalDataSource dataSource;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    /** A subject's counters: day_spent, lifetime_spent, inflight_held (USD), inflight (calls). */
    private record Counters(BigDecimal daySpent, BigDecimal lifetimeSpent, BigDecimal inflightHeld, long inflight) {
    }

    private Counters counters(UUID subject) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT day_spent, lifetime_spent, inflight_held, inflight FROM limit_counters WHERE subject_id = ?")) {
            ps.setObject(1, subject);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next(), "the subject has counters");
                return new Counters(usd(rs.getLong(1)), usd(rs.getLong(2)), usd(rs.getLong(3)), rs.getLong(4));
            }
        }
    }

    private static BigDecimal usd(long nanos) {
        return new BigDecimal(nanos).divide(NANOS);
    }

    private static void limitKey(UUID key, Map<String, Object> limits) {
        admin().body(limits).patch("/admin/v1/keys/" + key).then().statusCode(200);
    }

    private static String create(String key, String body) {
        return client(key).body(body).post("/v1/messages/batches").then().statusCode(200).extract().path("id");
    }

    private static void settlePass() {
        admin().post("/admin/v1/maintenance/batches").then().statusCode(200);
    }

    @Test
    void aBatchWhoseWorstCaseExceedsTheDailyCapIsRefusedBeforeAnythingIsSent() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        UUID key = Tollgate.newestKeyId(acct[0]);
        limitKey(key, Map.of("daily_spend_limit_usd", "0.01"));
        int before = fake.batches.created();
        // max_tokens 2000 at Sonnet's halved output price (7.5 USD/MTok) alone is 0.015 USD.
        client(acct[1]).body(batch(request("cap-1", "claude-sonnet-4-6", 2000))).post("/v1/messages/batches")
                .then().statusCode(429).body("type", equalTo("error")).body("error.type", equalTo("rate_limit_error"))
                .body("error.details.error_code", equalTo("spend_limit_reached"))
                .body("error.message", containsString("daily spend limit"));
        assertEquals(before, fake.batches.created(), "nothing is sent upstream");
        assertEquals(0, held(acct[0]).signum(), "nothing is held");
        assertEquals(0, counters(key).inflightHeld().signum(), "the caps count nothing in flight");
        assertReconciled(acct[0]);
    }

    @Test
    void aRunningBatchCountsInTheCapUntilSettledThenItsCostIsSpent() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        UUID key = Tollgate.newestKeyId(acct[0]);
        limitKey(key, Map.of("daily_spend_limit_usd", "0.02"));
        fake.batches.plan("run-1", Outcome.succeeded(Usage.of(1000, 200)));
        // Worst case a little over 1500 x 7.5 USD/MTok = 0.01125 USD.
        String id = create(acct[1], batch(request("run-1", "claude-sonnet-4-6", 1500)));
        BigDecimal batchHold = held(acct[0]);
        Counters running = counters(key);
        assertEquals(0, batchHold.compareTo(running.inflightHeld()), "the batch's hold counts in flight");
        assertEquals(0, running.inflight(), "a batch takes no concurrency slot");

        // A call holding a little over 1000 x 15 USD/MTok = 0.015 USD fits the cap alone, not beside the batch.
        String call = Tollgate.messageBody("claude-sonnet-4-6", 1000, "Hello");
        int calls = fake.messageCalls();
        client(acct[1]).body(call).post("/v1/messages").then().statusCode(429)
                .body("error.details.error_code", equalTo("spend_limit_reached"));
        assertEquals(calls, fake.messageCalls(), "the refused call never reached the upstream");

        fake.batches.end(id);
        settlePass();
        // (1000 x 3 + 200 x 15) / 2 = 3000 micro-USD.
        BigDecimal cost = new BigDecimal("0.003");
        Counters settled = counters(key);
        assertEquals(0, settled.inflightHeld().signum(), "the hold no longer counts in flight");
        assertEquals(0, cost.compareTo(settled.daySpent()), () -> "spent today " + settled.daySpent());
        assertEquals(0, cost.compareTo(settled.lifetimeSpent()));
        assertEquals(0, settled.inflight());
        assertEquals(0, new BigDecimal("9.997").compareTo(balance(acct[0])));

        // 0.003 spent + the call's worst case fits under 0.02 now.
        fake.enqueue(Scenario.defaultReply());
        client(acct[1]).body(call).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(acct[0]);
        assertReconciled(acct[0]);
    }

    @Test
    void theAccountsCapCountsBatchesToo() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        admin().body(Map.of("monthly_spend_limit_usd", "0.02")).patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        String id = create(acct[1], batch(request("acc-1", "claude-sonnet-4-6", 1500)));
        int before = fake.batches.created();
        client(acct[1]).body(batch(request("acc-2", "claude-sonnet-4-6", 1500))).post("/v1/messages/batches")
                .then().statusCode(429).body("error.message", containsString("this account's monthly spend limit"));
        assertEquals(before, fake.batches.created());
        fake.batches.plan("acc-1", Outcome.errored());
        fake.batches.end(id);
        settlePass();
        Counters settled = counters(UUID.fromString(acct[0]));
        assertEquals(0, settled.inflightHeld().signum());
        assertEquals(0, settled.lifetimeSpent().signum(), "an errored request costs nothing");
        create(acct[1], batch(request("acc-3", "claude-sonnet-4-6", 1500)));
        fake.batches.endAll();
        settlePass();
        assertReconciled(acct[0]);
    }

    @Test
    void aBatchTakesNoConcurrencySlotButCountsAsARequestPerMinute() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        UUID key = Tollgate.newestKeyId(acct[0]);
        limitKey(key, Map.of("max_concurrent", 1, "requests_per_minute", 2));
        String id = create(acct[1], batch(request("slot-1", "claude-haiku-4-5", 100)));
        fake.enqueue(Scenario.defaultReply());
        client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 100, "Hello")).post("/v1/messages")
                .then().statusCode(200);
        int before = fake.batches.created();
        client(acct[1]).body(batch(request("slot-2", "claude-haiku-4-5", 100))).post("/v1/messages/batches")
                .then().statusCode(429).body("error.message", containsString("2 requests per minute"));
        assertEquals(before, fake.batches.created());
        fake.batches.end(id);
        settlePass();
        Tollgate.awaitNothingHeld(acct[0]);
        assertEquals(0, counters(key).inflight());
        assertReconciled(acct[0]);
    }

    @Test
    void aBatchHoldTheReaperReleasesGivesBackItsInFlightSpendAndTheLateSettlementCountsItsCost() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        UUID key = Tollgate.newestKeyId(acct[0]);
        limitKey(key, Map.of("lifetime_spend_limit_usd", "1"));
        String id = create(acct[1], batch(request("late-1", "claude-haiku-4-5", 100)));
        assertTrue(counters(key).inflightHeld().signum() > 0);
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = (SELECT hold_id FROM message_batches WHERE id = ?)")) {
            ps.setString(1, id);
            ps.executeUpdate();
        }
        admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
        assertEquals(0, counters(key).inflightHeld().signum());
        assertEquals(0, counters(key).inflight());
        fake.batches.plan("late-1", Outcome.succeeded(Usage.of(100, 50)));
        fake.batches.end(id);
        settlePass();
        // (100 x 1 + 50 x 5) / 2 = 175 micro-USD.
        assertEquals(0, new BigDecimal("0.000175").compareTo(counters(key).lifetimeSpent()));
        assertReconciled(acct[0]);
    }

    @Test
    void aCapSetWhileABatchRunsCountsItsHoldAndItsSettlementOnce() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        UUID key = Tollgate.newestKeyId(acct[0]);
        fake.batches.plan("seed-1", Outcome.succeeded(Usage.of(1000, 200)));
        String id = create(acct[1], batch(request("seed-1", "claude-sonnet-4-6", 1500)));
        BigDecimal batchHold = held(acct[0]);
        limitKey(key, Map.of("daily_spend_limit_usd", "5", "max_concurrent", 1));
        Counters seeded = counters(key);
        assertEquals(0, batchHold.compareTo(seeded.inflightHeld()), "the running batch counts from the cap's start");
        assertEquals(0, seeded.inflight(), "and takes no concurrency slot");
        fake.batches.end(id);
        settlePass();
        Counters settled = counters(key);
        assertEquals(0, settled.inflightHeld().signum());
        assertEquals(0, new BigDecimal("0.003").compareTo(settled.daySpent()), () -> "spent " + settled.daySpent());
        assertEquals(0, settled.inflight());
        assertReconciled(acct[0]);
    }
}
