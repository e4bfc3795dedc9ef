package dev.tollgate.batches;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeBatches.Outcome;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Usage;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.held;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class BatchesTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    BatchSettler settler;
    @Inject
    BatchStore store;
    @Inject
    AgroalDataSource dataSource;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static String request(String customId, String model, int maxTokens) {
        return "{\"custom_id\":\"" + customId + "\",\"params\":{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hello " + customId + "\"}]}}";
    }

    static String batch(String... requests) {
        return "{\"requests\":[" + String.join(",", requests) + "]}";
    }

    private String create(String key, String body) {
        return client(key).body(body).post("/v1/messages/batches").then().statusCode(200)
                .body("type", equalTo("message_batch")).body("processing_status", equalTo("in_progress"))
                .body("id", startsWith("msgbatch_")).extract().path("id");
    }

    private static Response settlePass() {
        return admin().post("/admin/v1/maintenance/batches").then().statusCode(200).extract().response();
    }

    @Test
    void mixedResultsAreBilledAtHalfPriceOncePerSucceededRequest() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.batches.plan("mx-a", Outcome.succeeded(Usage.of(1000, 200).cacheWrite5m(400).cacheWrite1h(100).cacheRead(3000)))
                .plan("mx-b", Outcome.errored()).plan("mx-c", Outcome.canceled()).plan("mx-d", Outcome.expired())
                .plan("mx-e", Outcome.succeeded(Usage.of(100, 50)));
        String id = create(acct[1], batch(request("mx-a", "claude-sonnet-4-6", 300), request("mx-b", "claude-sonnet-4-6", 300),
                request("mx-c", "claude-sonnet-4-6", 300), request("mx-d", "claude-haiku-4-5", 300),
                request("mx-e", "claude-haiku-4-5", 300)));
        assertEquals(0, new BigDecimal("10").compareTo(balance(acct[0])));
        assertTrue(held(acct[0]).signum() > 0, "the batch's worst case is held while it runs");

        fake.batches.endAll();
        settlePass();

        // a: (1000 x 3 + 400 x 3.75 + 100 x 6 + 3000 x 0.30 + 200 x 15) / 2 = 4500 micro-USD
        // e: (100 x 1 + 50 x 5) / 2 = 175 micro-USD; b, c, d: nothing
        assertEquals(0, new BigDecimal("9.995325").compareTo(balance(acct[0])), () -> "balance " + balance(acct[0]));
        assertEquals(0, held(acct[0]).signum());
        Response usage = Tollgate.usage(acct[0]);
        List<String> ids = usage.jsonPath().getList("data.request_id");
        assertEquals(5, ids.size());
        for (int i = 0; i < 5; i++) {
            assertEquals("/v1/messages/batches", usage.path("data[" + i + "].endpoint"));
            assertEquals(id, usage.path("data[" + i + "].batch_id"));
            String customId = usage.path("data[" + i + "].custom_id");
            assertEquals(id + "/" + customId, usage.path("data[" + i + "].request_id"));
            String cost = usage.path("data[" + i + "].cost_usd");
            switch (customId) {
                case "mx-a" -> {
                    assertEquals("0.004500000", cost);
                    assertEquals(400, (int) usage.path("data[" + i + "].cache_creation_5m_input_tokens"));
                    assertEquals(3000, (int) usage.path("data[" + i + "].cache_read_input_tokens"));
                }
                case "mx-e" -> assertEquals("0.000175000", cost);
                default -> assertEquals("0.000000000", cost);
            }
        }
        assertReconciled(acct[0]);
        // A second pass settles nothing more.
        settlePass();
        assertEquals(0, new BigDecimal("9.995325").compareTo(balance(acct[0])));
    }

    @Test
    void thePlanMarkupAppliesToBatchPricesAndTheUpstreamCostIsRecorded() {
        String[] acct = Tollgate.fundedAccount("10");
        String plan = admin().body(java.util.Map.of("name", "batch-plan-" + System.nanoTime(), "markup_percent", "20"))
                .post("/admin/v1/plans").then().statusCode(201).extract().path("id");
        admin().body(java.util.Map.of("plan_id", plan)).patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        fake.batches.plan("plan-1", Outcome.succeeded(Usage.of(1000, 200)));
        String id = create(Tollgate.createKey(acct[0]), batch(request("plan-1", "claude-sonnet-4-6", 300)));
        fake.batches.end(id);
        settlePass();
        // (1000 x 3 + 200 x 15) / 2 = 3000 micro-USD at list price; 3600 with the plan's 20%.
        Response usage = Tollgate.usage(acct[0]);
        assertEquals("0.003600000", usage.path("data[0].cost_usd"));
        assertEquals("0.003000000", usage.path("data[0].upstream_cost_usd"));
        assertEquals(plan, usage.path("data[0].plan_id"));
        assertEquals(0, new BigDecimal("9.9964").compareTo(balance(acct[0])));
        assertReconciled(acct[0]);
    }

    @Test
    void aBatchThatFitsIsHeldAndOneThatDoesNotIsRefusedBeforeAnythingIsSent() {
        String[] acct = Tollgate.fundedAccount("1");
        String id = create(acct[1], batch(request("fit-1", "claude-sonnet-4-6", 1000), request("fit-2", "claude-sonnet-4-6", 1000)));
        BigDecimal held = held(acct[0]);
        // Two worst cases of max_tokens 1000 at half the output price (7.5 USD/MTok) at least, and far less than a dollar.
        assertTrue(held.compareTo(new BigDecimal("0.015")) >= 0 && held.compareTo(new BigDecimal("0.1")) < 0, "held " + held);

        int before = fake.batches.created();
        client(acct[1]).body(batch(request("big-1", "claude-sonnet-4-6", 64000), request("big-2", "claude-sonnet-4-6", 64000),
                        request("big-3", "claude-sonnet-4-6", 64000)))
                .post("/v1/messages/batches").then().statusCode(402).body("error.type", equalTo("billing_error"))
                .body("error.message", containsString("this batch needs"));
        assertEquals(before, fake.batches.created(), "nothing is sent upstream");
        assertEquals(0, held.compareTo(held(acct[0])), "nothing more is held");

        fake.batches.end(id);
        settlePass();
        assertReconciled(acct[0]);
    }

    @Test
    void badRequestsAreRefusedWithTheirIndexAndCustomIdAndNothingIsSent() {
        String[] acct = Tollgate.fundedAccount("10");
        String streaming = "{\"custom_id\":\"s-1\",\"params\":{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}";
        client(acct[1]).body(batch(request("ok-1", "claude-sonnet-4-6", 10), streaming)).post("/v1/messages/batches")
                .then().statusCode(400).body("error.type", equalTo("invalid_request_error"))
                .body("error.message", containsString("requests[1] (custom_id \"s-1\")"))
                .body("error.message", containsString("stream"));
        client(acct[1]).body(batch(request("dup", "claude-sonnet-4-6", 10), request("dup", "claude-sonnet-4-6", 10)))
                .post("/v1/messages/batches").then().statusCode(400)
                .body("error.message", containsString("requests[1] (custom_id \"dup\"): custom_id must be unique"));
        client(acct[1]).body(batch(request("bad id!", "claude-sonnet-4-6", 10))).post("/v1/messages/batches")
                .then().statusCode(400).body("error.message", containsString("requests[0]"));
        client(acct[1]).body(batch(request("m-0", "claude-sonnet-4-6", 10), request("m-1", "claude-nonexistent-9", 10)))
                .post("/v1/messages/batches").then().statusCode(404)
                .body("error.message", containsString("requests[1] (custom_id \"m-1\")"));
        client(acct[1]).body(batch(request("z-0", "claude-sonnet-4-6", 0))).post("/v1/messages/batches")
                .then().statusCode(400).body("error.message", containsString("max_tokens"));
        client(acct[1]).body("{\"requests\":[]}").post("/v1/messages/batches").then().statusCode(400);
        assertEquals(0, fake.batches.created());
        assertEquals(0, held(acct[0]).signum());
        assertReconciled(acct[0]);
    }

    @Test
    void moreThanOneHundredThousandRequestsIs413NamingTheFirstOneTooMany() {
        String[] acct = Tollgate.fundedAccount("10");
        StringBuilder body = new StringBuilder(12_000_000).append("{\"requests\":[");
        for (int i = 0; i <= 100_000; i++) {
            body.append(i == 0 ? "" : ",").append("{\"custom_id\":\"r").append(i)
                    .append("\",\"params\":{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}}");
        }
        body.append("]}");
        client(acct[1]).body(body.toString()).post("/v1/messages/batches").then().statusCode(413)
                .body("error.type", equalTo("request_too_large")).body("error.message", containsString("requests[100000]"));
        assertEquals(0, fake.batches.created());
        assertEquals(0, held(acct[0]).signum());
    }

    @Test
    void anotherAccountGets404OnEveryEndpointAndListsOnlyItsOwn() {
        String[] a = Tollgate.fundedAccount("10");
        String[] b = Tollgate.fundedAccount("10");
        String id = create(a[1], batch(request("own-1", "claude-haiku-4-5", 10)));
        client(b[1]).get("/v1/messages/batches/" + id).then().statusCode(404).body("error.type", equalTo("not_found_error"));
        client(b[1]).post("/v1/messages/batches/" + id + "/cancel").then().statusCode(404);
        client(b[1]).get("/v1/messages/batches/" + id + "/results").then().statusCode(404);
        client(b[1]).delete("/v1/messages/batches/" + id).then().statusCode(404);
        client(b[1]).get("/v1/messages/batches").then().statusCode(200).body("data.size()", equalTo(0))
                .body("has_more", equalTo(false)).body("first_id", nullValue());
        client(a[1]).get("/v1/messages/batches").then().statusCode(200).body("data[0].id", equalTo(id));
        client(a[1]).get("/v1/messages/batches/" + id).then().statusCode(200).body("id", equalTo(id))
                .body("request_counts.processing", equalTo(1));
        assertTrue(fake.batches.exists(id), "b's cancel and delete never reached the upstream");

        fake.batches.end(id);
        client(b[1]).get("/v1/messages/batches/" + id + "/results").then().statusCode(404);
        settlePass();
        assertReconciled(a[0]);
        assertReconciled(b[0]);
    }

    @Test
    void resultsAreTheUpstreamsJsonlAndResultsUrlPointsHere() {
        String[] acct = Tollgate.fundedAccount("10");
        String id = create(acct[1], batch(request("r-1", "claude-haiku-4-5", 10), request("r-2", "claude-haiku-4-5", 10)));
        fake.batches.end(id);
        Response got = client(acct[1]).get("/v1/messages/batches/" + id).then().statusCode(200)
                .body("processing_status", equalTo("ended")).body("request_counts.succeeded", equalTo(2)).extract().response();
        String url = got.path("results_url");
        assertTrue(url.endsWith("/v1/messages/batches/" + id + "/results") && !url.contains(":" + fake.port()), url);
        String jsonl = client(acct[1]).get("/v1/messages/batches/" + id + "/results").then().statusCode(200)
                .extract().asString();
        String[] lines = jsonl.trim().split("\n");
        assertEquals(2, lines.length);
        Set<String> ids = new HashSet<>();
        for (String line : lines) {
            ids.add(io.restassured.path.json.JsonPath.from(line).getString("custom_id"));
            assertEquals("succeeded", io.restassured.path.json.JsonPath.from(line).getString("result.type"));
        }
        assertEquals(Set.of("r-1", "r-2"), ids);
        settlePass();
        assertReconciled(acct[0]);
    }

    @Test
    void aBatchNobodyAsksAboutIsStillSettledAndTwoPollersSettleItOnce() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.batches.plan("race-1", Outcome.succeeded(Usage.of(2000, 100)));
        String id = create(acct[1], batch(request("race-1", "claude-sonnet-4-6", 200), request("race-2", "claude-sonnet-4-6", 200)));
        fake.batches.end(id);
        BatchStore.Row row = store.find(id);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Boolean>> racers = new ArrayList<>();
            racers.add(() -> settler.poll(row));
            racers.add(() -> settler.poll(row));
            racers.add(() -> settler.run().settled() > 0);
            racers.add(() -> settlePass().<Integer>path("settled") > 0);
            int settled = 0;
            for (Future<Boolean> f : pool.invokeAll(racers, 60, TimeUnit.SECONDS)) {
                settled += f.get() ? 1 : 0;
            }
            assertEquals(1, settled, "exactly one poller settles the batch");
        } finally {
            pool.shutdown();
        }
        // race-1: (2000 x 3 + 100 x 15) / 2 = 3750 micro-USD; race-2: the fake's count and 7 output tokens.
        Response usage = Tollgate.usage(acct[0]);
        assertEquals(2, usage.jsonPath().getList("data").size());
        assertNotNull(store.find(id).settledAt());
        assertReconciled(acct[0]);
    }

    @Test
    void theReaperLeavesABatchHoldAloneAndALateSettlementStillBills() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        String id = create(acct[1], batch(request("lease-1", "claude-haiku-4-5", 100)));
        BigDecimal held = held(acct[0]);
        admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
        assertEquals(0, held.compareTo(held(acct[0])), "the reaper must not release a running batch's hold");
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT extract(epoch FROM h.expires_at - now()) FROM holds h JOIN message_batches b ON b.hold_id = h.id WHERE b.id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertTrue(rs.getDouble(1) > 24 * 3600, "the hold lives past the batch's 24-hour deadline");
            }
        }
        // Past its lease (no instance settled it in 30 hours), the reaper releases it; the settlement still bills.
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = (SELECT hold_id FROM message_batches WHERE id = ?)")) {
            ps.setString(1, id);
            ps.executeUpdate();
        }
        admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
        assertEquals(0, held(acct[0]).signum());
        fake.batches.plan("lease-1", Outcome.succeeded(Usage.of(100, 50)));
        fake.batches.end(id);
        settlePass();
        assertEquals(0, new BigDecimal("9.999825").compareTo(balance(acct[0])), () -> "balance " + balance(acct[0]));
        assertReconciled(acct[0]);
    }

    @Test
    void canceledAndExpiredBatchesCostNothingAndReleaseTheirHolds() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        String canceled = create(acct[1], batch(request("c-1", "claude-haiku-4-5", 10), request("c-2", "claude-haiku-4-5", 10)));
        client(acct[1]).post("/v1/messages/batches/" + canceled + "/cancel").then().statusCode(200)
                .body("processing_status", equalTo("canceling")).body("cancel_initiated_at", org.hamcrest.Matchers.notNullValue());
        fake.batches.expireAfter(java.time.Duration.ofMillis(300));
        String expired = create(acct[1], batch(request("x-1", "claude-haiku-4-5", 10)));
        Thread.sleep(400);
        settlePass();
        client(acct[1]).get("/v1/messages/batches/" + canceled).then().statusCode(200)
                .body("request_counts.canceled", equalTo(2));
        client(acct[1]).get("/v1/messages/batches/" + expired).then().statusCode(200)
                .body("request_counts.expired", equalTo(1));
        assertEquals(0, new BigDecimal("10").compareTo(balance(acct[0])));
        assertEquals(0, held(acct[0]).signum());
        assertEquals(3, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

    @Test
    void deleteSettlesFirstAndOnlyAnEndedBatchCanBeDeleted() {
        String[] acct = Tollgate.fundedAccount("10");
        String id = create(acct[1], batch(request("d-1", "claude-haiku-4-5", 10)));
        client(acct[1]).delete("/v1/messages/batches/" + id).then().statusCode(400);
        fake.batches.end(id);
        client(acct[1]).delete("/v1/messages/batches/" + id).then().statusCode(200)
                .body("type", equalTo("message_batch_deleted")).body("id", equalTo(id));
        assertEquals(1, Tollgate.usage(acct[0]).jsonPath().getList("data").size(), "billed before its results went");
        client(acct[1]).get("/v1/messages/batches/" + id).then().statusCode(404);
        assertEquals(0, held(acct[0]).signum());
        assertReconciled(acct[0]);
    }

    @Test
    void listPagesNewestFirstAsTheApiPages() {
        String[] acct = Tollgate.fundedAccount("10");
        String first = create(acct[1], batch(request("p-1", "claude-haiku-4-5", 10)));
        String second = create(acct[1], batch(request("p-2", "claude-haiku-4-5", 10)));
        String third = create(acct[1], batch(request("p-3", "claude-haiku-4-5", 10)));
        client(acct[1]).queryParam("limit", 2).get("/v1/messages/batches").then().statusCode(200)
                .body("data.id", equalTo(Arrays.asList(third, second))).body("has_more", equalTo(true))
                .body("first_id", equalTo(third)).body("last_id", equalTo(second));
        client(acct[1]).queryParam("limit", 2).queryParam("after_id", second).get("/v1/messages/batches").then()
                .statusCode(200).body("data.id", equalTo(List.of(first))).body("has_more", equalTo(false));
        client(acct[1]).queryParam("limit", 1).queryParam("before_id", first).get("/v1/messages/batches").then()
                .statusCode(200).body("data.id", equalTo(List.of(second))).body("has_more", equalTo(true));
        client(acct[1]).queryParam("limit", 0).get("/v1/messages/batches").then().statusCode(400);
        fake.batches.endAll();
        settlePass();
        assertReconciled(acct[0]);
    }
}
