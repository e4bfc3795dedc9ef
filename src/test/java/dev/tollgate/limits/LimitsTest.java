package dev.tollgate.limits;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each limit: reached, refused with the right status and headers, and recovering after its window. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class LimitsTest {

    static final String BODY = messageBody("claude-haiku-4-5", 10, "Hello");

    @Inject
    AgroalDataSource dataSource;

    @TestHTTPResource("/v1/messages")
    URL messagesUrl;

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static String key(String account, Map<String, Object> settings) {
        Map<String, Object> body = new java.util.HashMap<>(settings);
        body.put("name", "limited");
        return admin().body(body).post("/admin/v1/accounts/" + account + "/keys").then().statusCode(201)
                .extract().path("key");
    }

    private static String keyId(String secret) {
        return client(secret).get("/v1/me").then().statusCode(200).extract().path("key.id");
    }

    /** Moves a subject's rate windows two minutes into the past: what waiting out the window does. */
    private void windowPasses(String subjectId) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE limit_counters SET window_start = window_start - interval '2 minutes' WHERE subject_id = ?")) {
            ps.setObject(1, UUID.fromString(subjectId));
            assertEquals(1, ps.executeUpdate());
        }
    }

    @Test
    void requestsPerMinuteIsEnforcedWithHeadersAndRecovers() throws Exception {
        String account = Tollgate.fundedAccount("5")[0];
        String key = key(account, Map.of("requests_per_minute", 3));
        for (int expectedRemaining = 2; expectedRemaining >= 0; expectedRemaining--) {
            client(key).body(BODY).post("/v1/messages").then().statusCode(200)
                    .header("anthropic-ratelimit-requests-limit", "3")
                    .header("anthropic-ratelimit-requests-remaining", String.valueOf(expectedRemaining))
                    .header("anthropic-ratelimit-requests-reset", containsString("T"));
        }
        Response refused = client(key).body(BODY).post("/v1/messages");
        refused.then().statusCode(429).body("error.type", equalTo("rate_limit_error"))
                .body("error.message", containsString("3 requests per minute"))
                .header("anthropic-ratelimit-requests-limit", "3")
                .header("anthropic-ratelimit-requests-remaining", "0");
        int retryAfter = Integer.parseInt(refused.header("retry-after"));
        assertTrue(retryAfter >= 1 && retryAfter <= 60, "retry-after " + retryAfter);
        assertEquals(3, fake.messageCalls(), "a refused call never reaches upstream");

        windowPasses(keyId(key));
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        assertReconciled(account);
    }

    @Test
    void tokensPerMinuteCountsTheEstimateInFlightAndTheUsageAfter() throws Exception {
        String account = Tollgate.fundedAccount("5")[0];
        // The hold's estimate of BODY is its byte length plus max_tokens (~110); what it really uses is ~20.
        String key = key(account, Map.of("tokens_per_minute", 150));
        client(key).body(BODY).post("/v1/messages").then().statusCode(200)
                .header("anthropic-ratelimit-tokens-limit", "150");
        // Settled usage replaced the estimate, so a second call's estimate fits again.
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        String big = messageBody("claude-haiku-4-5", 10, "x".repeat(200));
        client(key).body(big).post("/v1/messages").then().statusCode(429)
                .body("error.message", containsString("tokens per minute"))
                .header("anthropic-ratelimit-tokens-limit", "150");
        windowPasses(keyId(key));
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        assertReconciled(account);
    }

    @Test
    void concurrencyLimitRefusesWhileACallIsInFlight() throws Exception {
        String account = Tollgate.fundedAccount("5")[0];
        String key = key(account, Map.of("max_concurrent", 1));
        CountDownLatch release = new CountDownLatch(1);
        fake.enqueue(Scenario.reply("held open").pauseAfterMessageStart(release));
        HttpResponse<InputStream> first = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(messagesUrl.toString()))
                        .header("x-api-key", key).header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                        .build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, first.statusCode());
        client(key).body(BODY).post("/v1/messages").then().statusCode(429)
                .body("error.message", containsString("1 concurrent requests")).header("retry-after", "1");
        release.countDown();
        first.body().readAllBytes();
        first.body().close();
        for (int i = 0; i < 50; i++) {
            if (client(key).body(BODY).post("/v1/messages").statusCode() == 200) {
                assertReconciled(account);
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the slot was never freed");
    }

    @Test
    void spendCapUnderConcurrencyNeverOvershootsAndSaysSo() throws Exception {
        String account = Tollgate.fundedAccount("5")[0];
        String key = key(account, Map.of("daily_spend_limit_usd", "0.001"));
        ExecutorService pool = Executors.newFixedThreadPool(20);
        List<Future<Response>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            calls.add(pool.submit(() -> client(key).body(BODY).post("/v1/messages").then().extract().response()));
        }
        int ok = 0;
        for (Future<Response> f : calls) {
            Response r = f.get();
            if (r.statusCode() == 200) {
                ok++;
            } else {
                assertEquals(429, r.statusCode(), r.asString());
                assertEquals("spend_limit_reached", r.path("error.details.error_code"));
                assertNull(r.header("retry-after"), "a spend cap has no retry-after");
            }
        }
        pool.shutdown();
        BigDecimal spent = new BigDecimal(client(key).get("/v1/me").then().statusCode(200)
                .extract().<String>path("key.spend.today_usd"));
        assertTrue(ok > 0 && ok < 40, ok + " succeeded");
        assertTrue(spent.compareTo(new BigDecimal("0.001")) <= 0, "spent " + spent + " over the 0.001 cap");
        assertEquals(0, spent.compareTo(new BigDecimal("5").subtract(Tollgate.balance(account))));
        assertReconciled(account);

        // A new UTC day starts a new daily budget.
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE limit_counters SET day = day - 1 WHERE subject_id = ?")) {
            ps.setObject(1, UUID.fromString(keyId(key)));
            assertEquals(1, ps.executeUpdate());
        }
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
    }

    /** Counters are kept only for limited subjects, so a cap set later must count earlier spend. */
    @Test
    void aSpendCapSetMidDayCountsWhatWasAlreadySpent() {
        String[] acct = Tollgate.fundedAccount("5");
        String id = keyId(acct[1]);
        for (int i = 0; i < 3; i++) {
            client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        }
        BigDecimal spent = new BigDecimal(client(acct[1]).get("/v1/me").then().statusCode(200)
                .extract().<String>path("key.spend.today_usd"));
        assertEquals(0, spent.compareTo(new BigDecimal("5").subtract(Tollgate.balance(acct[0]))), "spend without counters");
        // A cap just above what was spent: the next call's hold no longer fits under it.
        String cap = spent.add(new BigDecimal("0.00001")).toPlainString();
        admin().body(Map.of("daily_spend_limit_usd", cap)).patch("/admin/v1/keys/" + id).then().statusCode(200);
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(429)
                .body("error.details.error_code", equalTo("spend_limit_reached"));
        client(acct[1]).get("/v1/me").then().body("key.spend.today_usd", equalTo(spent.setScale(9).toPlainString()));
        admin().body("{\"daily_spend_limit_usd\":null}").patch("/admin/v1/keys/" + id).then().statusCode(200);
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        assertReconciled(acct[0]);
    }

    @Test
    void accountLimitsApplyAcrossAllItsKeys() {
        String account = Tollgate.fundedAccount("5")[0];
        admin().body(Map.of("requests_per_minute", 2)).patch("/admin/v1/accounts/" + account).then().statusCode(200)
                .body("limits.requests_per_minute", equalTo(2));
        String a = Tollgate.createKey(account);
        String b = Tollgate.createKey(account);
        client(a).body(BODY).post("/v1/messages").then().statusCode(200);
        client(b).body(BODY).post("/v1/messages").then().statusCode(200);
        client(a).body(BODY).post("/v1/messages").then().statusCode(429)
                .body("error.message", containsString("this account's rate limit"));
    }

    @Test
    void patchedLimitsTakeEffectAtOnce() {
        String account = Tollgate.fundedAccount("5")[0];
        String key = Tollgate.createKey(account);
        String id = keyId(key);
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        admin().body(Map.of("requests_per_minute", 1)).patch("/admin/v1/keys/" + id).then().statusCode(200)
                .body("limits.requests_per_minute", equalTo(1));
        client(key).body(BODY).post("/v1/messages").then().statusCode(429);
        admin().body("{\"requests_per_minute\":null}").patch("/admin/v1/keys/" + id).then().statusCode(200)
                .body("limits.requests_per_minute", nullValue());
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        admin().body(Map.of("requests_per_minute", -1)).patch("/admin/v1/keys/" + id).then().statusCode(400);
        admin().body(Map.of("daily_spend_limit_usd", "abc")).patch("/admin/v1/keys/" + id).then().statusCode(400);
    }

    @Test
    void allowedIpRangesAreEnforced() {
        String account = Tollgate.fundedAccount("5")[0];
        String elsewhere = key(account, Map.of("allowed_ips", List.of("10.0.0.0/8", "2001:db8::/32")));
        client(elsewhere).body(BODY).post("/v1/messages").then().statusCode(403)
                .body("error.type", equalTo("permission_error"));
        // X-Forwarded-For is only believed from a trusted proxy; none is configured here.
        client(elsewhere).header("X-Forwarded-For", "10.1.2.3").body(BODY).post("/v1/messages").then().statusCode(403);
        String local = key(account, Map.of("allowed_ips", List.of("127.0.0.0/8", "::1")));
        client(local).body(BODY).post("/v1/messages").then().statusCode(200);
        admin().body(Map.of("name", "x", "allowed_ips", List.of("not-an-ip"))).post("/admin/v1/accounts/" + account + "/keys")
                .then().statusCode(400);
        assertEquals(1, fake.messageCalls());
    }

    @Test
    void limitsHoldAcrossInstancesSharingTheDatabase() throws Exception {
        String account = Tollgate.fundedAccount("5")[0];
        String key = key(account, Map.of("requests_per_minute", 4));
        String keyId = keyId(key);
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        client(key).body(BODY).post("/v1/messages").then().statusCode(200);
        // A second instance admits calls through the same statement on its own connection
        // (TwoInstancesIT does this with a second gateway process).
        String url = org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getValue("quarkus.datasource.jdbc.url", String.class);
        try (Connection other = java.sql.DriverManager.getConnection(url, "postgres", "")) {
            for (int i = 0; i < 2; i++) {
                try (PreparedStatement ps = other.prepareStatement("SELECT * FROM tg_hold(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    ps.setObject(1, UUID.randomUUID());
                    ps.setObject(2, UUID.fromString(account));
                    ps.setObject(3, UUID.fromString(keyId));
                    ps.setString(4, "req_other_instance_" + i);
                    ps.setString(5, "claude-haiku-4-5-20251001");
                    ps.setString(6, "/v1/messages");
                    ps.setBoolean(7, false);
                    ps.setLong(8, 1000);
                    ps.setLong(9, 10);
                    ps.setInt(10, 0);
                    ps.executeQuery().close();
                }
            }
        }
        client(key).body(BODY).post("/v1/messages").then().statusCode(429);
        assertEquals(2, fake.messageCalls());
    }

    @Test
    void affordabilityLowersMaxTokensWhenTheAccountAsksForIt() {
        String[] acct = Tollgate.fundedAccount("0.01");
        String body = messageBody("claude-sonnet-4-6", 64000, "Hello");
        client(acct[1]).body(body).post("/v1/messages").then().statusCode(402);
        admin().body(Map.of("fit_max_tokens", true, "fit_min_tokens", 100)).patch("/admin/v1/accounts/" + acct[0])
                .then().statusCode(200).body("fit_max_tokens", equalTo(true));
        Response r = client(acct[1]).body(body).post("/v1/messages");
        r.then().statusCode(200);
        long lowered = Long.parseLong(r.header("tollgate-max-tokens-lowered-to"));
        assertTrue(lowered >= 100 && lowered < 64000, "lowered to " + lowered);
        assertEquals(lowered, fake.lastRequest().json().get("max_tokens").asLong());
        assertEquals("claude-sonnet-4-6", fake.lastRequest().json().get("model").asText());
        assertReconciled(acct[0]);
    }

    @Test
    void lowBalanceIsMarkedWhenCrossedAndClearedByATopUp() {
        String[] acct = Tollgate.fundedAccount("0.002");
        admin().body(Map.of("low_balance_threshold_usd", "0.0015")).patch("/admin/v1/accounts/" + acct[0])
                .then().statusCode(200).body("low_balance_since", nullValue());
        fake.enqueue(Scenario.reply("costly").usage(dev.tollgate.testing.Usage.of(100, 40))); // 0.0009 USD
        client(acct[1]).body(messageBody("claude-sonnet-4-6", 100, "Hello")).post("/v1/messages").then().statusCode(200);
        admin().get("/admin/v1/accounts/" + acct[0]).then().body("low_balance_since", org.hamcrest.Matchers.notNullValue());
        client(acct[1]).get("/v1/me").then().body("account.low_balance_since", org.hamcrest.Matchers.notNullValue())
                .body("account.low_balance_threshold_usd", equalTo("0.001500000"));
        Tollgate.topup(acct[0], "1");
        admin().get("/admin/v1/accounts/" + acct[0]).then().body("low_balance_since", nullValue());
    }
}
