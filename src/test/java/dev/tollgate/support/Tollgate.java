package dev.tollgate.support;

import io.quarkus.test.common.http.TestHTTPResourceManager;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test helpers that drive the gateway only through its public and admin HTTP APIs. */
public final class Tollgate {

    public static final String ADMIN_TOKEN = "test-admin-token";

    private Tollgate() {
    }

    public static RequestSpecification admin() {
        return RestAssured.given().header("Authorization", "Bearer " + ADMIN_TOKEN).contentType(ContentType.JSON);
    }

    public static String createAccount(String name) {
        return admin().body(Map.of("name", name)).post("/admin/v1/accounts")
                .then().statusCode(201).extract().path("id");
    }

    public static void topup(String accountId, String usd) {
        admin().body(Map.of("amount_usd", usd)).post("/admin/v1/accounts/" + accountId + "/topups")
                .then().statusCode(201);
    }

    public static String createKey(String accountId) {
        return admin().body(Map.of("name", "test key")).post("/admin/v1/accounts/" + accountId + "/keys")
                .then().statusCode(201).extract().path("key");
    }

    /** A funded account with one key: {accountId, key}. */
    public static String[] fundedAccount(String usd) {
        String account = createAccount("acct " + System.nanoTime());
        if (usd != null) {
            topup(account, usd);
        }
        return new String[] {account, createKey(account)};
    }

    /** The id of the account's newest key, as the admin API lists it. */
    public static UUID newestKeyId(String accountId) {
        return UUID.fromString(admin().get("/admin/v1/accounts/" + accountId + "/keys")
                .then().statusCode(200).extract().<String>path("data[0].id"));
    }

    public static BigDecimal balance(String accountId) {
        return new BigDecimal(admin().get("/admin/v1/accounts/" + accountId).then().statusCode(200)
                .extract().<String>path("balance_usd"));
    }

    public static BigDecimal held(String accountId) {
        return new BigDecimal(admin().get("/admin/v1/accounts/" + accountId).then().statusCode(200)
                .extract().<String>path("held_usd"));
    }

    public static Response usage(String accountId) {
        return admin().get("/admin/v1/accounts/" + accountId + "/usage?limit=1000").then().statusCode(200).extract().response();
    }

    /** Asserts the ledger invariants: totals = sums of entries, settled = sum of usage costs, no holds left. */
    public static void assertReconciled(String accountId) {
        Response r = admin().get("/admin/v1/accounts/" + accountId + "/reconciliation").then().statusCode(200)
                .extract().response();
        assertTrue(r.<Boolean>path("consistent"), () -> "ledger inconsistent: " + r.asString());
        assertEquals(0, new BigDecimal(r.<String>path("held_usd")).signum(), () -> "holds left: " + r.asString());
        BigDecimal usageSum = BigDecimal.ZERO;
        for (Object cost : usage(accountId).jsonPath().getList("data.cost_usd")) {
            usageSum = usageSum.add(new BigDecimal((String) cost));
        }
        assertEquals(0, usageSum.compareTo(new BigDecimal(r.<String>path("settled_usd"))),
                () -> "usage records do not sum to the settled charges: " + r.asString());
    }

    /** Sends {@code calls} copies of a Messages call at once; their HTTP statuses. */
    public static List<Integer> callConcurrently(String key, String body, int calls) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(calls);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                results.add(pool.submit(() -> client(key).body(body).post("/v1/messages").statusCode()));
            }
            List<Integer> statuses = new ArrayList<>();
            for (Future<Integer> result : results) {
                statuses.add(result.get(30, TimeUnit.SECONDS));
            }
            return statuses;
        } finally {
            pool.shutdown();
        }
    }

    /** Waits until the account holds nothing (settlements landed, reserves returned); at most 10 s. */
    public static void awaitNothingHeld(String accountId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (held(accountId).signum() != 0) {
            assertTrue(System.nanoTime() < deadline, "the account still holds " + held(accountId) + " USD after 10 s");
            Thread.sleep(20);
        }
    }

    /**
     * The management interface (metrics, health), on its own port: the management URL's port is
     * known only once the application has started on a free one.
     */
    public static RequestSpecification management() {
        return RestAssured.given().baseUri(TestHTTPResourceManager.getManagementUri()).basePath("");
    }

    public static RequestSpecification client(String key) {
        return RestAssured.given().header("x-api-key", key).header("anthropic-version", "2023-06-01")
                .contentType(ContentType.JSON);
    }

    public static String messageBody(String model, int maxTokens, String text) {
        return "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}";
    }
}
