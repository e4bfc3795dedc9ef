package dev.tollgate.ledger;

import dev.tollgate.support.DatabaseFaults;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The database away for a few seconds, with calls in flight and calls admitted from a reserve in
 * memory meanwhile: every call served is settled once the database is back (none free, none twice),
 * and a concurrency slot is free again as soon as its call's settlement lands.
 */
@QuarkusTest
@TestProfile(ProductionDefaults.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class DatabaseOutageTest {

    static final String BODY = messageBody("claude-haiku-4-5", 10, "How are you today?");
    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    LedgerStore ledger;

    @Test
    void settlementsWaitOutAnOutageAndLoseNothing() throws Exception {
        String[] busy = Tollgate.fundedAccount("10");
        for (int i = 0; i < 3; i++) {
            client(busy[1]).body(BODY).post("/v1/messages").then().statusCode(200); // opens a reserve
        }
        String single = Tollgate.createAccount("one at a time");
        Tollgate.topup(single, "1");
        Map<String, Object> limited = new HashMap<>(Map.of("name", "one at a time", "max_concurrent", 1));
        String singleKey = admin().body(limited).post("/admin/v1/accounts/" + single + "/keys")
                .then().statusCode(201).extract().path("key");
        fake.enqueue(Scenario.defaultReply().deltaDelay(Duration.ofMillis(300)));
        String streamBody = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":50,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me a story\"}]}";
        CompletableFuture<Integer> stream = CompletableFuture.supplyAsync(
                () -> client(singleKey).body(streamBody).post("/v1/messages").statusCode());
        Thread.sleep(300); // the stream is under way, its hold placed

        try (DatabaseFaults outage = DatabaseFaults.outage()) {
            for (int i = 0; i < 5; i++) {
                client(busy[1]).body(BODY).post("/v1/messages").then().statusCode(200); // from the reserve, in memory
            }
            assertEquals(200, stream.get(20, TimeUnit.SECONDS));
            Thread.sleep(1500);
            assertTrue(ledger.settlementBacklog() >= 6, "settlements wait for the database: " + ledger.settlementBacklog());
            assertTrue(ledger.oldestUnwrittenSettlement().toMillis() >= 1000);
            // What the operator sees: the backlog as a readiness detail (the database check is DOWN meanwhile).
            int reported = Tollgate.management().get("/health/ready").then().statusCode(503).extract()
                    .path("checks.find { it.name == 'settlements' }.data.backlog");
            assertTrue(reported >= 6, "the readiness detail shows the backlog: " + reported);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ledger.settlementBacklog() > 0) {
            assertTrue(System.nanoTime() < deadline, "the backlog was never written");
            Thread.sleep(50);
        }

        List<String> statuses = Tollgate.usage(busy[0]).jsonPath().getList("data.status");
        assertEquals(8, statuses.size(), "every call served has its record: " + statuses);
        assertTrue(statuses.stream().allMatch("ok"::equals), statuses::toString);
        assertEquals(List.of("ok"), Tollgate.usage(single).jsonPath().getList("data.status"));
        assertTrue(Tollgate.usage(single).jsonPath().<String>getList("data.cost_usd").stream()
                .allMatch(c -> new java.math.BigDecimal(c).signum() > 0), "the stream was billed");
        // Its settlement released the concurrency slot: the next call is admitted at once.
        client(singleKey).body(BODY).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(single);
        Tollgate.assertReconciled(single);
        Tollgate.awaitNothingHeld(busy[0]);
        Tollgate.assertReconciled(busy[0]);
    }
}
