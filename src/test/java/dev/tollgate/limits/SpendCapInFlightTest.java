package dev.tollgate.limits;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A spend cap set while calls are in flight counts them: their holds were placed without counters
 * (the account had no limit), and the cap must see them all the same, then release each exactly
 * once when it settles.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class SpendCapInFlightTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Test
    void aCapSetMidFlightCountsTheCallsInFlight() throws Exception {
        fake.reset();
        String[] acct = Tollgate.fundedAccount("1");
        CountDownLatch release = new CountDownLatch(1);
        // max_tokens 1000 at Haiku 4.5's $5/MTok output: each call holds a little over 0.005 USD.
        String body = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1000,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
        List<CompletableFuture<Integer>> inFlight = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        for (int i = 0; i < 4; i++) {
            fake.enqueue(Scenario.defaultReply().pauseAfterMessageStart(release));
            inFlight.add(CompletableFuture.supplyAsync(() -> client(acct[1]).body(body).post("/v1/messages").statusCode(),
                    clients));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (fake.messageCalls() < 4) {
            assertTrue(System.nanoTime() < deadline, "the four calls never reached upstream");
            Thread.sleep(20);
        }
        try {
            // Four calls hold about 0.021 USD; the cap is below that.
            admin().body(Map.of("daily_spend_limit_usd", "0.015")).patch("/admin/v1/accounts/" + acct[0])
                    .then().statusCode(200);
            client(acct[1]).body(body).post("/v1/messages").then().statusCode(429)
                    .body("error.type", equalTo("rate_limit_error"));
        } finally {
            release.countDown();
        }
        for (CompletableFuture<Integer> call : inFlight) {
            assertEquals(200, call.get(20, TimeUnit.SECONDS));
        }
        clients.shutdown();
        // Settled, they count what they cost (little) and no longer their holds: room again under the cap.
        fake.enqueue(Scenario.defaultReply());
        client(acct[1]).body(body).post("/v1/messages").then().statusCode(200);
        Tollgate.assertReconciled(acct[0]);
    }
}
