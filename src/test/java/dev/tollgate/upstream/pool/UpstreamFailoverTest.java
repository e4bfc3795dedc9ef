package dev.tollgate.upstream.pool;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.upstream.pool.PoolFixture.body;
import static dev.tollgate.upstream.pool.PoolFixture.fake;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routing and failover over three fake organizations; every call billed once, the ledger reconciled. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UpstreamFailoverTest {

    private final FakeUpstream configuredDefault = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        configuredDefault.reset();
    }

    @AfterEach
    void removeUpstreams() {
        PoolFixture.removeAll();
    }

    @Test
    void weightsSpreadConversationsAsConfigured() {
        PoolFixture.register(Map.of("org-a", Map.of("weight", 1), "org-b", Map.of("weight", 3),
                "org-c", Map.of("enabled", false)));
        String[] acct = Tollgate.fundedAccount("10");
        for (int i = 0; i < 80; i++) {
            client(acct[1]).body(body("conversation-" + i, false)).post("/v1/messages").then().statusCode(200);
        }
        int a = fake("org-a").messageCalls();
        int b = fake("org-b").messageCalls();
        assertEquals(80, a + b);
        assertEquals(0, fake("org-c").messageCalls(), "disabled");
        assertEquals(0, configuredDefault.messageCalls(), "a lower priority");
        assertTrue(a >= 8 && a <= 32, "weight 1 of 4 should get about 20 of 80, got " + a);
        Response usage = Tollgate.usage(acct[0]);
        assertEquals(a, usage.jsonPath().getList("data.findAll { it.upstream_name == 'org-a' }").size());
        assertEquals(List.of(1), usage.jsonPath().getList("data.attempts").stream().distinct().toList());
        assertReconciled(acct[0]);
    }

    @Test
    void anOverloadedUpstreamSitsOutItsRetryAfterWhileTheOthersServe() throws Exception {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String user = PoolFixture.userRoutedTo(pool, "org-a", "org-b");
        fake("org-a").enqueue(Scenario.overloaded().header("retry-after", "2"));
        String[] acct = Tollgate.fundedAccount("10");

        for (int i = 0; i < 5; i++) {
            client(acct[1]).body(body(user, i % 2 == 0)).post("/v1/messages").then().statusCode(200);
        }
        assertEquals(1, fake("org-a").messageCalls(), "no call during its cooldown");
        assertEquals(5, fake("org-b").messageCalls(), "its conversations go to their second choice");
        Response usage = Tollgate.usage(acct[0]);
        assertEquals(5, usage.jsonPath().getList("data").size(), "billed once per call");
        assertEquals(List.of(1, 1, 1, 1, 2), usage.jsonPath().getList("data.attempts"), "newest first");
        assertEquals("org-b", usage.path("data[4].upstream_name"));
        assertEquals(pool.get("org-b").id().toString(), usage.path("data[4].upstream_id"));
        Tollgate.admin().get("/admin/v1/upstreams/" + pool.get("org-a").id()).then().statusCode(200)
                .body("state", org.hamcrest.Matchers.equalTo("cooling_down"))
                .body("until", org.hamcrest.Matchers.notNullValue());

        Thread.sleep(2_100);
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200);
        assertEquals(2, fake("org-a").messageCalls(), "back to its first choice once healthy");
        assertReconciled(acct[0]);
    }

    @Test
    void aBadCredentialCoolsItsUpstreamDownAndTheCallSucceedsElsewhere() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of("org-a", Map.of("api_key", "sk-ant-api03-revoked-0000")));
        String user = PoolFixture.userRoutedTo(pool, "org-a", null);
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200);
        assertEquals(1, fake("org-a").messageCalls(), "tried once, then cooling down");
        Tollgate.admin().get("/admin/v1/upstreams").then().statusCode(200)
                .body("data.find { it.name == 'org-a' }.state", org.hamcrest.Matchers.equalTo("cooling_down"))
                .body("data.find { it.name == 'org-a' }.recent.errors", org.hamcrest.Matchers.equalTo(1));
        assertReconciled(acct[0]);
    }

    @Test
    void anUpstreamOutOfCreditIsNeverShownToTheCustomer() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String user = PoolFixture.userRoutedTo(pool, "org-a", null);
        fake("org-a").enqueue(Scenario.error(400, "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."));
        String[] acct = Tollgate.fundedAccount("10");
        String answer = client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200)
                .extract().asString();
        assertFalse(answer.contains("credit"), answer);
        assertEquals(1, fake("org-a").messageCalls());
        assertReconciled(acct[0]);
    }

    @Test
    void anUnreachableUpstreamOpensItsCircuitAndTheCallSucceedsElsewhere() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of("org-a", Map.of("base_url", "http://127.0.0.1:1")));
        String user = PoolFixture.userRoutedTo(pool, "org-a", "org-b");
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(body(user, true)).post("/v1/messages").then().statusCode(200);
        Response usage = Tollgate.usage(acct[0]);
        assertEquals(List.of(1, 2), usage.jsonPath().getList("data.attempts"), "the circuit is open for the second call");
        assertEquals(List.of("org-b", "org-b"), usage.jsonPath().getList("data.upstream_name"));
        Tollgate.admin().get("/admin/v1/upstreams/" + pool.get("org-a").id()).then()
                .body("state", org.hamcrest.Matchers.equalTo("cooling_down"));
        Tollgate.management().get("/metrics").then().statusCode(200)
                .body(org.hamcrest.Matchers.containsString(
                        "tollgate_upstreams_answers_total{status=\"connect_failed\",upstream=\"org-a\"} 1.0"))
                .body(org.hamcrest.Matchers.containsString("tollgate_upstreams_cooling_down{upstream=\"org-a\"} 1.0"));
        assertReconciled(acct[0]);
    }

    @Test
    void aTimeoutAfterTheRequestWasSentIsNotRetried() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String user = PoolFixture.userRoutedTo(pool, "org-a", null);
        fake("org-a").enqueue(Scenario.delayBeforeHeaders(java.time.Duration.ofSeconds(5)));
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(504);
        assertEquals(0, fake("org-b").messageCalls() + fake("org-c").messageCalls(), "it may have run: never twice");
        assertEquals(1, (int) Tollgate.usage(acct[0]).path("data[0].attempts"));
        assertReconciled(acct[0]);
    }

    @Test
    void aFullUpstreamIsSkippedUntilItsCallEnds() throws Exception {
        Map<String, Upstream> pool = PoolFixture.register(Map.of("org-a", Map.of("max_concurrent", 1)));
        String user = PoolFixture.userRoutedTo(pool, "org-a", "org-b");
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        fake("org-a").enqueue(Scenario.reply("held open").pauseAfterMessageStart(release));
        String[] acct = Tollgate.fundedAccount("10");
        var running = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> client(acct[1]).body(body(user, true)).post("/v1/messages").statusCode());
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (fake("org-a").messageCalls() == 0) {
            assertTrue(System.nanoTime() < deadline, "the first call never reached org-a");
            Thread.sleep(20);
        }
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200);
        assertEquals(1, fake("org-b").messageCalls(), "org-a is full: its one slot is taken");
        release.countDown();
        assertEquals(200, running.get(20, java.util.concurrent.TimeUnit.SECONDS));
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200);
        assertEquals(2, fake("org-a").messageCalls(), "its slot is free again once the stream ended");
        assertReconciled(acct[0]);
    }

    @Test
    void aBadRequestIsNotRetried() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String user = PoolFixture.userRoutedTo(pool, "org-a", null);
        fake("org-a").enqueue(Scenario.error(400, "invalid_request_error", "A maximum of 4 blocks with cache_control may be provided. Found 5."));
        String[] acct = Tollgate.fundedAccount("10");
        BigDecimal before = Tollgate.balance(acct[0]);
        client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(400)
                .body("error.message", org.hamcrest.Matchers.containsString("A maximum of 4 blocks"));
        assertEquals(1, fake("org-a").messageCalls() + fake("org-b").messageCalls() + fake("org-c").messageCalls());
        assertEquals(0, before.compareTo(Tollgate.balance(acct[0])), "zero cost");
        assertEquals("upstream_error", Tollgate.usage(acct[0]).path("data[0].status"));
        assertReconciled(acct[0]);
    }

    @Test
    void aStreamThatBreaksAfterItsFirstEventIsNotRetried() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String user = PoolFixture.userRoutedTo(pool, "org-a", null);
        fake("org-a").enqueue(Scenario.reply("alpha beta gamma delta").usage(Usage.of(10, 4)).dropConnectionAfterDeltas(1));
        String[] acct = Tollgate.fundedAccount("10");
        String events = client(acct[1]).body(body(user, true)).post("/v1/messages").then().statusCode(200)
                .extract().asString();
        assertTrue(events.contains("event: error"), events);
        assertEquals(0, fake("org-b").messageCalls() + fake("org-c").messageCalls());
        Response usage = Tollgate.usage(acct[0]);
        assertEquals("stream_error", usage.path("data[0].status"));
        assertEquals(1, (int) usage.path("data[0].attempts"));
        assertReconciled(acct[0]);
    }

    @Test
    void whenEveryCandidateIsOutTheLastErrorIsReturnedWithTheSoonestRetryAfter() {
        PoolFixture.register(Map.of());
        for (String name : PoolFixture.NAMES) {
            fake(name).enqueue(Scenario.overloaded().header("retry-after", "7"));
        }
        String[] acct = Tollgate.fundedAccount("10");
        Response r = client(acct[1]).body(body("anyone", false)).post("/v1/messages");
        r.then().statusCode(529).body("error.type", org.hamcrest.Matchers.equalTo("overloaded_error"));
        int retryAfter = Integer.parseInt(r.header("retry-after"));
        assertTrue(retryAfter >= 6 && retryAfter <= 7, "retry-after " + retryAfter);
        assertEquals(0, configuredDefault.messageCalls(), "at most three attempts");
        assertEquals("0.000000000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
        assertEquals(3, (int) Tollgate.usage(acct[0]).path("data[0].attempts"));
        assertReconciled(acct[0]);
    }

    @Test
    void aConversationStaysOnItsUpstreamAndMovesOnlyWhenThatOneFails() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String[] acct = Tollgate.fundedAccount("10");
        Map<String, String> first = new HashMap<>();
        for (int turn = 0; turn < 3; turn++) {
            for (int c = 0; c < 12; c++) {
                String user = "session-" + c;
                String served = servedBy(acct, user);
                assertEquals(first.computeIfAbsent(user, u -> served), served, user + " turn " + turn);
            }
        }
        String failing = first.get("session-0");
        Tollgate.admin().body(Map.of("enabled", false)).patch("/admin/v1/upstreams/" + pool.get(failing).id())
                .then().statusCode(200);
        for (int c = 0; c < 12; c++) {
            String user = "session-" + c;
            String served = servedBy(acct, user);
            if (first.get(user).equals(failing)) {
                assertFalse(served.equals(failing), user);
            } else {
                assertEquals(first.get(user), served, user + " must not move");
            }
        }
        assertReconciled(acct[0]);
    }

    @Test
    void theOpenAiUserFieldIsTheStickinessKeyToo() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String[] acct = Tollgate.fundedAccount("10");
        // Two users of one account on two upstreams: the account alone would send both to one.
        for (String user : List.of(PoolFixture.userRoutedTo(pool, "org-c", null), PoolFixture.userRoutedTo(pool, "org-a", null))) {
            io.restassured.RestAssured.given().header("Authorization", "Bearer " + acct[1])
                    .contentType(io.restassured.http.ContentType.JSON)
                    .body("{\"model\":\"claude-haiku-4-5\",\"user\":\"" + user
                            + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                    .post("/v1/chat/completions").then().statusCode(200);
        }
        assertEquals(1, fake("org-c").messageCalls());
        assertEquals(1, fake("org-a").messageCalls());
        assertReconciled(acct[0]);
    }

    @Test
    void countTokensGoesToTheConversationsUpstream() {
        Map<String, Upstream> pool = PoolFixture.register(Map.of());
        String user = PoolFixture.userRoutedTo(pool, "org-c", null);
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(body(user, false)).post("/v1/messages/count_tokens").then().statusCode(200)
                .body("input_tokens", org.hamcrest.Matchers.greaterThan(0));
        assertEquals(1, fake("org-c").countTokensCalls());
        assertEquals(0, configuredDefault.countTokensCalls());
    }

    private static String servedBy(String[] acct, String user) {
        String requestId = client(acct[1]).body(body(user, false)).post("/v1/messages").then().statusCode(200)
                .extract().header("request-id");
        String name = Tollgate.usage(acct[0]).jsonPath()
                .getString("data.find { it.request_id == '" + requestId + "' }.upstream_name");
        assertNotNull(name);
        return name;
    }
}
