package dev.tollgate.credit;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Redemption codes over HTTP. X-Forwarded-For is trusted from the test client, so each test is its own client IP. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
@TestProfile(RedemptionTest.BehindAProxy.class)
class RedemptionTest {

    public static class BehindAProxy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.trusted-proxies", "127.0.0.1/32,::1/128");
        }
    }

    private static final AtomicInteger IPS = new AtomicInteger();

    private static String newIp() {
        return "203.0.113." + IPS.incrementAndGet();
    }

    private static Response createCodes(Map<String, Object> body) {
        return admin().body(body).post("/admin/v1/redemption-codes").then().extract().response();
    }

    private static Response redeem(String key, String ip, String code) {
        return client(key).header("X-Forwarded-For", ip).body(Map.of("code", code)).post("/v1/me/redeem")
                .then().extract().response();
    }

    @Test
    void aCodeCreditsTheRedeemerOnceAndOnlyThem() {
        Response batch = createCodes(Map.of("count", 3, "amount_usd", "5", "note", "black friday"));
        assertEquals(201, batch.statusCode(), batch.asString());
        List<String> codes = batch.jsonPath().getList("codes.code");
        assertEquals(3, new HashSet<>(codes).size());
        codes.forEach(code -> assertTrue(code.matches("TG(-[0-9A-HJKMNP-TV-Z]{4}){5}"), code));
        String batchId = batch.path("batch_id");
        String codeId = batch.path("codes[0].id");

        String[] redeemer = Tollgate.fundedAccount("1");
        String[] bystander = Tollgate.fundedAccount("1");
        String ip = newIp();
        Response redeemed = redeem(redeemer[1], ip, codes.get(0).toLowerCase().replace("-", " "));
        assertEquals(201, redeemed.statusCode(), redeemed.asString());
        assertEquals(codeId, redeemed.path("code_id"));
        assertEquals("5.000000000", redeemed.path("amount_usd"));
        assertEquals("6.000000000", redeemed.path("balance_usd"));
        assertEquals(0, new BigDecimal("6").compareTo(Tollgate.balance(redeemer[0])));
        assertEquals(0, BigDecimal.ONE.compareTo(Tollgate.balance(bystander[0])));

        admin().get("/admin/v1/accounts/" + redeemer[0] + "/ledger").then().statusCode(200)
                .body("data[0].kind", equalTo("redemption"))
                .body("data[0].balance_delta_usd", equalTo("5.000000000"))
                .body("data[0].note", equalTo("redemption code " + codeId))
                .body("data[0].id", equalTo(redeemed.<Integer>path("entry_id")));
        Response again = redeem(bystander[1], ip, codes.get(0));
        assertEquals(409, again.statusCode(), again.asString());
        assertEquals("already_redeemed", again.path("error.details.error_code"));

        Response listed = admin().get("/admin/v1/redemption-codes?batch_id=" + batchId).then().statusCode(200)
                .extract().response();
        assertEquals(3, listed.jsonPath().getList("data").size());
        assertTrue(!listed.asString().contains(codes.get(0).substring(3)), "a listing must never show a code");
        String code0 = "data.find { it.id == '" + codeId + "' }";
        assertEquals("redeemed", listed.path(code0 + ".status"));
        assertEquals(redeemer[0], listed.path(code0 + ".redeemed_by_account_id"));
        assertEquals("black friday", listed.path(code0 + ".note"));
        assertEquals(2, admin().get("/admin/v1/redemption-codes?status=unused&batch_id=" + batchId).then()
                .statusCode(200).extract().jsonPath().getList("data").size());
        admin().get("/admin/v1/audit?subject_id=" + codeId).then().statusCode(200)
                .body("data[0].action", equalTo("redemption_code.redeem"))
                .body("data[0].actor", startsWith("key:"))
                .body("data[0].client_ip", equalTo(ip));
        Tollgate.assertReconciled(redeemer[0]);
        Tollgate.assertReconciled(bystander[0]);
    }

    @Test
    void fiftyAccountsRaceForOneCodeAndOneWins() throws Exception {
        String code = createCodes(Map.of("count", 1, "amount_usd", "2.5")).path("codes[0].code");
        int racers = 50;
        List<String[]> accounts = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            accounts.add(Tollgate.fundedAccount(null));
        }
        String ip = newIp();
        ExecutorService pool = Executors.newFixedThreadPool(racers);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Response>> results = new ArrayList<>();
            for (String[] account : accounts) {
                results.add(pool.submit(() -> {
                    start.await();
                    return redeem(account[1], ip, code);
                }));
            }
            start.countDown();
            Map<Integer, Integer> statuses = new HashMap<>();
            for (Future<Response> result : results) {
                Response r = result.get(60, TimeUnit.SECONDS);
                statuses.merge(r.statusCode(), 1, Integer::sum);
                if (r.statusCode() == 409) {
                    assertEquals("already_redeemed", r.path("error.details.error_code"));
                }
            }
            assertEquals(Map.of(201, 1, 409, racers - 1), statuses);
        } finally {
            pool.shutdown();
        }
        BigDecimal total = BigDecimal.ZERO;
        for (String[] account : accounts) {
            total = total.add(Tollgate.balance(account[0]));
            Tollgate.assertReconciled(account[0]);
        }
        assertEquals(0, new BigDecimal("2.5").compareTo(total), "credited " + total);
    }

    @Test
    void unusableCodesAreRefusedWithTheReason() throws Exception {
        String[] developer = Tollgate.fundedAccount(null);
        String ip = newIp();
        Response unknown = redeem(developer[1], ip, RedemptionCodes.generate());
        assertEquals(404, unknown.statusCode());
        assertEquals("not_found_error", unknown.path("error.type"));
        Response typo = redeem(developer[1], ip, "TG-0000-0000-0000-0000-0001");
        assertEquals(400, typo.statusCode());
        assertEquals("invalid_code", typo.path("error.details.error_code"));

        Response batch = createCodes(Map.of("count", 2, "amount_usd", "1", "expires_at", Instant.now().plusSeconds(2).toString()));
        assertEquals(201, batch.statusCode(), batch.asString());
        admin().delete("/admin/v1/redemption-codes/" + batch.path("codes[1].id")).then().statusCode(200)
                .body("status", equalTo("revoked"));
        Response revoked = redeem(developer[1], ip, batch.path("codes[1].code"));
        assertEquals(410, revoked.statusCode());
        assertEquals("code_revoked", revoked.path("error.details.error_code"));
        Thread.sleep(2500);
        Response expired = redeem(developer[1], ip, batch.path("codes[0].code"));
        assertEquals(410, expired.statusCode());
        assertEquals("code_expired", expired.path("error.details.error_code"));
        admin().get("/admin/v1/redemption-codes?status=expired&batch_id=" + batch.path("batch_id")).then().statusCode(200)
                .body("data.id", equalTo(List.of(batch.<String>path("codes[0].id"))));

        Response used = createCodes(Map.of("count", 1, "amount_usd", "1"));
        assertEquals(201, redeem(developer[1], ip, used.path("codes[0].code")).statusCode());
        admin().delete("/admin/v1/redemption-codes/" + used.path("codes[0].id")).then().statusCode(409);
        admin().delete("/admin/v1/redemption-codes/" + java.util.UUID.randomUUID()).then().statusCode(404);
        assertEquals(0, BigDecimal.ONE.compareTo(Tollgate.balance(developer[0])));
        Tollgate.assertReconciled(developer[0]);
        client(developer[1]).header("X-Forwarded-For", ip).body(Map.of("code", "x", "amount_usd", "9"))
                .post("/v1/me/redeem").then().statusCode(400);
        RestAssured.given().contentType("application/json").body(Map.of("code", "x")).post("/v1/me/redeem")
                .then().statusCode(401);
    }

    @Test
    void creationRefusesBadBatches() {
        for (Map<String, Object> body : List.<Map<String, Object>>of(
                Map.of("count", 0, "amount_usd", "1"),
                Map.of("count", 10_001, "amount_usd", "1"),
                Map.of("count", "3", "amount_usd", "1"),
                Map.of("count", 1, "amount_usd", "-1"),
                Map.of("count", 1),
                Map.of("count", 1, "amount_usd", "1", "expires_at", "2001-01-01T00:00:00Z"),
                Map.of("count", 1, "amount_usd", "1", "credit_expires_in_days", 0),
                Map.of("count", 1, "amount_usd", "1", "credit_expires_in_days", 3651),
                Map.of("count", 1, "amount_usd", "1", "credit_expires_in_days", "30"))) {
            Response r = createCodes(body);
            assertEquals(400, r.statusCode(), body + " → " + r.asString());
            assertEquals("invalid_request_error", r.path("error.type"));
        }
        admin().get("/admin/v1/redemption-codes?status=used").then().statusCode(400);
        admin().get("/admin/v1/redemption-codes?cursor=nonsense").then().statusCode(400);
    }

    @Test
    void tenThousandCodesAtOnceAndPagesThroughThem() {
        Response batch = createCodes(Map.of("count", 10_000, "amount_usd", "0.5"));
        assertEquals(201, batch.statusCode());
        assertEquals(10_000, new HashSet<>(batch.jsonPath().<String>getList("codes.code")).size());
        String path = "/admin/v1/redemption-codes?limit=1000&batch_id=" + batch.path("batch_id");
        HashSet<String> listed = new HashSet<>();
        String cursor = null;
        do {
            Response page = admin().get(path + (cursor == null ? "" : "&cursor=" + cursor)).then().statusCode(200)
                    .extract().response();
            listed.addAll(page.jsonPath().getList("data.id"));
            cursor = page.path("next_cursor");
        } while (cursor != null);
        assertEquals(new HashSet<>(batch.jsonPath().<String>getList("codes.id")), listed);
    }

    @Test
    void guessingIsSlowedPerKeyAndPerIp() {
        String[] guesser = Tollgate.fundedAccount(null);
        String[] neighbour = Tollgate.fundedAccount(null);
        String ip = newIp();
        for (int i = 0; i < 10; i++) {
            assertEquals(404, redeem(guesser[1], ip, RedemptionCodes.generate()).statusCode());
        }
        String good = createCodes(Map.of("count", 1, "amount_usd", "1")).path("codes[0].code");
        Response slowed = redeem(guesser[1], newIp(), good);
        assertEquals(429, slowed.statusCode(), "per key");
        int retryAfter = Integer.parseInt(slowed.header("retry-after"));
        assertTrue(retryAfter > 500 && retryAfter <= 600, "retry-after " + retryAfter);
        assertEquals("rate_limit_error", slowed.path("error.type"));
        assertEquals(429, redeem(neighbour[1], ip, good).statusCode(), "per IP");
        assertEquals(201, redeem(neighbour[1], newIp(), good).statusCode(), "another key from another IP");
        assertEquals(0, BigDecimal.ONE.compareTo(Tollgate.balance(neighbour[0])));
        assertEquals(0, Tollgate.balance(guesser[0]).signum());
        Tollgate.assertReconciled(neighbour[0]);
    }

    @Test
    void developerKeysCannotReachTheCodes() {
        String[] developer = Tollgate.fundedAccount("1");
        createCodes(Map.of("count", 1, "amount_usd", "1"));
        RestAssured.given().header("Authorization", "Bearer " + developer[1]).get("/admin/v1/redemption-codes")
                .then().statusCode(401);
        client(developer[1]).get("/admin/v1/redemption-codes").then().statusCode(401);
        client(developer[1]).body(Map.of("count", 1, "amount_usd", "100")).post("/admin/v1/redemption-codes")
                .then().statusCode(401);
    }
}
