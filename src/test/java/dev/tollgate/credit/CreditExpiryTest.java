package dev.tollgate.credit;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Expiring credit (credit lots) over HTTP with a real PostgreSQL: spending draws on the
 * soonest-expiring lot first; an expiry takes what is left of a lot, exactly once however many
 * passes run at once, and never what was spent or is held by a call in flight.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class CreditExpiryTest {

    private static final String HAIKU = "claude-haiku-4-5";

    FakeUpstream fake = FakeUpstreamResource.fake();

    private static Response credit(String account, String kind, Map<String, Object> body) {
        return admin().body(body).post("/admin/v1/accounts/" + account + "/" + kind).then().extract().response();
    }

    private static String soon(int seconds) {
        return Instant.now().plusSeconds(seconds).toString();
    }

    /** The cost of the account's newest call. */
    private static BigDecimal lastCost(String account) {
        return new BigDecimal(Tollgate.usage(account).<String>path("data[0].cost_usd"));
    }

    private static List<BigDecimal> expiryEntries(String account) {
        List<BigDecimal> amounts = new ArrayList<>();
        Response ledger = admin().get("/admin/v1/accounts/" + account + "/ledger?limit=1000").then().statusCode(200)
                .extract().response();
        List<Map<String, Object>> entries = ledger.jsonPath().getList("data");
        for (Map<String, Object> e : entries) {
            if ("expiry".equals(e.get("kind"))) {
                amounts.add(new BigDecimal((String) e.get("balance_delta_usd")).negate());
            }
        }
        return amounts;
    }

    private static BigDecimal sum(List<BigDecimal> amounts) {
        return amounts.stream().reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    /** Two expiry passes at once, as two instances' timers (or a timer and the maintenance call) would run. */
    private static void expireTwiceAtOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> runs = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                runs.add(pool.submit(() -> admin().post("/admin/v1/maintenance/expire-credits").statusCode()));
            }
            for (Future<Integer> run : runs) {
                assertEquals(200, run.get(30, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdown();
        }
    }

    private static void awaitPast(Instant at) throws InterruptedException {
        while (!Instant.now().isAfter(at.plusMillis(200))) {
            Thread.sleep(50);
        }
    }

    private static Map<String, Map<String, Object>> lotsById(List<Map<String, Object>> lots) {
        Map<String, Map<String, Object>> byId = new HashMap<>();
        for (Map<String, Object> lot : lots) {
            byId.put(String.valueOf(lot.get("lot_id")), lot);
        }
        return byId;
    }

    @Test
    void spendingDrawsOnTheSoonestExpiringLotAndExpiryTakesOnlyWhatIsLeft() throws Exception {
        fake.reset();
        String[] acct = Tollgate.fundedAccount("1");
        String account = acct[0];
        String soonAt = soon(4);
        Response lotA = credit(account, "topups", Map.of("amount_usd", "2", "expires_at", soonAt));
        assertEquals(201, lotA.statusCode(), lotA.asString());
        assertEquals(Instant.parse(soonAt).truncatedTo(ChronoUnit.MICROS), Instant.parse(lotA.path("expires_at")));
        Response lotB = credit(account, "adjustments", Map.of("amount_usd", "3", "credit_expires_in_days", 30));
        assertEquals(201, lotB.statusCode(), lotB.asString());
        String a = String.valueOf((Object) lotA.path("entry_id"));
        String b = String.valueOf((Object) lotB.path("entry_id"));

        fake.enqueue(Scenario.defaultReply().usage(Usage.of(10_000, 20_000)));
        client(acct[1]).body(Tollgate.messageBody(HAIKU, 30_000, "hi")).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(account);
        BigDecimal c1 = lastCost(account);
        assertEquals(0, new BigDecimal("0.11").compareTo(c1), c1::toString);

        // The admin view and the developer's own view show the lots: the call drew on A, the soonest to expire.
        for (Response view : List.of(admin().get("/admin/v1/accounts/" + account).then().statusCode(200).extract().response(),
                client(acct[1]).get("/v1/me").then().statusCode(200).extract().response())) {
            String path = view.path("credit_lots") != null ? "credit_lots" : "account.credit_lots";
            Map<String, Map<String, Object>> lots = lotsById(view.jsonPath().getList(path));
            assertEquals(2, lots.size(), view.asString());
            assertEquals("1.890000000", lots.get(a).get("remaining_usd"), view.asString());
            assertEquals("0.110000000", lots.get(a).get("spent_usd"));
            assertEquals("2.000000000", lots.get(a).get("amount_usd"));
            assertEquals(Instant.parse(soonAt).truncatedTo(ChronoUnit.MICROS), Instant.parse((String) lots.get(a).get("expires_at")));
            assertEquals("3.000000000", lots.get(b).get("remaining_usd"));
        }

        awaitPast(Instant.parse(soonAt));
        expireTwiceAtOnce();
        assertEquals(List.of(new BigDecimal("1.890000000")), expiryEntries(account), "A's remainder, exactly once");
        assertEquals(0, new BigDecimal("4").compareTo(Tollgate.balance(account)));
        expireTwiceAtOnce();
        assertEquals(1, expiryEntries(account).size(), "nothing expires twice");

        // A is gone from the views; the next call draws on B before the credit without expiry.
        fake.enqueue(Scenario.defaultReply().usage(Usage.of(1_000, 2_000)));
        client(acct[1]).body(Tollgate.messageBody(HAIKU, 3_000, "hi")).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(account);
        Response view = admin().get("/admin/v1/accounts/" + account).then().statusCode(200).extract().response();
        Map<String, Map<String, Object>> lots = lotsById(view.jsonPath().getList("credit_lots"));
        assertEquals(1, lots.size(), view.asString());
        assertEquals("2.989000000", lots.get(b).get("remaining_usd"), view.asString());
        Tollgate.assertReconciled(account);
    }

    @Test
    void anExpiryNeverTakesWhatACallInFlightHolds() throws Exception {
        fake.reset();
        // An account limit: holds are taken call by call (no reserve), so held is exactly the call's hold.
        String account = Tollgate.createAccount("lots in flight");
        admin().body(Map.of("requests_per_minute", 1000)).patch("/admin/v1/accounts/" + account).then().statusCode(200);
        String key = Tollgate.createKey(account);
        String expiresAt = soon(3);
        assertEquals(201, credit(account, "topups", Map.of("amount_usd", "1", "expires_at", expiresAt)).statusCode());

        fake.enqueue(Scenario.defaultReply().usage(Usage.of(10_000, 20_000)));
        client(key).body(Tollgate.messageBody(HAIKU, 30_000, "hi")).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(account);
        BigDecimal c1 = lastCost(account);

        // A stream that runs for about 10 s (20 words, one every 500 ms: never idle long enough to be cut).
        fake.enqueue(Scenario.reply("one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
                + " fifteen sixteen seventeen eighteen nineteen twenty").deltaDelay(java.time.Duration.ofMillis(500))
                .usage(Usage.of(1_000, 2_000)));
        String streaming = "{\"model\":\"" + HAIKU + "\",\"max_tokens\":64000,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
        CompletableFuture<Integer> inFlight = CompletableFuture.supplyAsync(
                () -> client(key).body(streaming).post("/v1/messages").statusCode());
        BigDecimal held;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((held = Tollgate.held(account)).signum() == 0) {
            assertTrue(System.nanoTime() < deadline, "the call never took its hold");
            Thread.sleep(20);
        }
        assertTrue(held.compareTo(new BigDecimal("0.32")) >= 0, held::toString);
        awaitPast(Instant.parse(expiresAt));
        expireTwiceAtOnce();
        assertTrue(Tollgate.held(account).signum() > 0, "the call was to be still in flight");
        // Everything left of the lot but what the call holds, once.
        BigDecimal first = BigDecimal.ONE.subtract(c1).subtract(held);
        assertEquals(List.of(first.setScale(9)), expiryEntries(account));
        assertEquals(0, held.compareTo(Tollgate.balance(account)), "the held money stays");
        Response view = admin().get("/admin/v1/accounts/" + account).then().statusCode(200).extract().response();
        assertEquals(held.setScale(9).toPlainString(), view.path("credit_lots[0].remaining_usd"), view.asString());
        assertEquals(200, inFlight.get(30, TimeUnit.SECONDS));
        Tollgate.awaitNothingHeld(account);
        BigDecimal c2 = lastCost(account);
        assertEquals(0, new BigDecimal("0.011").compareTo(c2), c2::toString);

        // The call's cost was drawn from the expired lot; the rest of what it held now expires, once.
        expireTwiceAtOnce();
        expireTwiceAtOnce();
        List<BigDecimal> expiries = expiryEntries(account);
        assertEquals(2, expiries.size(), expiries::toString);
        assertEquals(0, BigDecimal.ONE.subtract(c1).subtract(c2).compareTo(sum(expiries)), expiries::toString);
        assertEquals(0, Tollgate.balance(account).signum());
        admin().get("/admin/v1/accounts/" + account).then().statusCode(200).body("credit_lots.size()", equalTo(0));
        Tollgate.assertReconciled(account);
    }

    @Test
    void aRedeemedCodeCanCarryExpiringCredit() {
        Response batch = admin().body(Map.of("count", 1, "amount_usd", "5", "credit_expires_in_days", 10))
                .post("/admin/v1/redemption-codes").then().statusCode(201)
                .body("credit_expires_in_days", equalTo(10)).extract().response();
        admin().get("/admin/v1/redemption-codes?batch_id=" + batch.path("batch_id")).then().statusCode(200)
                .body("data[0].credit_expires_in_days", equalTo(10));
        String[] acct = Tollgate.fundedAccount(null);
        Response redeemed = client(acct[1]).header("X-Forwarded-For", "198.51.100.77")
                .body(Map.of("code", batch.<String>path("codes[0].code"))).post("/v1/me/redeem")
                .then().statusCode(201).extract().response();
        Instant expires = Instant.parse(redeemed.path("credit_expires_at"));
        Instant expected = Instant.now().plus(10, ChronoUnit.DAYS);
        assertTrue(Math.abs(expires.getEpochSecond() - expected.getEpochSecond()) < 60, expires::toString);
        Response me = client(acct[1]).get("/v1/me").then().statusCode(200).extract().response();
        assertEquals("5.000000000", me.path("account.credit_lots[0].remaining_usd"), me.asString());
        assertEquals(String.valueOf((Object) redeemed.path("entry_id")), String.valueOf((Object) me.path("account.credit_lots[0].lot_id")));
        Tollgate.assertReconciled(acct[0]);
        // Another account's developer sees none of it.
        String[] stranger = Tollgate.fundedAccount("1");
        client(stranger[1]).get("/v1/me").then().statusCode(200).body("account.credit_lots.size()", equalTo(0));

        // Days from 1 to 3650 only.
        admin().body(Map.of("count", 1, "amount_usd", "5", "credit_expires_in_days", 0))
                .post("/admin/v1/redemption-codes").then().statusCode(400)
                .body("error.message", startsWith("credit_expires_in_days: "));
    }

    @Test
    void badExpiriesAreRefusedNamingTheField() {
        String account = Tollgate.createAccount("bad expiries");
        assertField(credit(account, "topups", Map.of("amount_usd", "1", "expires_at", "2020-01-01T00:00:00Z")), "expires_at");
        assertField(credit(account, "topups", Map.of("amount_usd", "1", "expires_at", "tomorrow")), "expires_at");
        assertField(credit(account, "topups", Map.of("amount_usd", "1", "credit_expires_in_days", 0)), "credit_expires_in_days");
        assertField(credit(account, "topups", Map.of("amount_usd", "1", "credit_expires_in_days", "7")), "credit_expires_in_days");
        assertField(credit(account, "topups", Map.of("amount_usd", "1", "credit_expires_in_days", 7,
                "expires_at", soon(3600))), "credit_expires_in_days");
        assertField(credit(account, "adjustments", Map.of("amount_usd", "-1", "credit_expires_in_days", 7)),
                "credit_expires_in_days");
        assertEquals(0, Tollgate.balance(account).signum(), "nothing written");
        admin().get("/admin/v1/accounts/" + account).then().statusCode(200).body("credit_lots.size()", equalTo(0));

        // Idempotent replays of a credit with credit_expires_in_days return the first outcome.
        Response first = admin().header("Idempotency-Key", "lot-" + account)
                .body(Map.of("amount_usd", "1", "credit_expires_in_days", 7))
                .post("/admin/v1/accounts/" + account + "/topups").then().statusCode(201).extract().response();
        Response again = admin().header("Idempotency-Key", "lot-" + account)
                .body(Map.of("amount_usd", "1", "credit_expires_in_days", 7))
                .post("/admin/v1/accounts/" + account + "/topups").then().statusCode(201)
                .header("idempotent-replayed", "true").extract().response();
        assertEquals(first.<String>path("expires_at"), again.path("expires_at"));
        assertNotNull(first.path("expires_at"));
        assertNull(credit(account, "topups", Map.of("amount_usd", "1")).path("expires_at"));
        Tollgate.assertReconciled(account);
    }

    private static void assertField(Response r, String field) {
        assertEquals(400, r.statusCode(), r.asString());
        assertTrue(r.<String>path("error.message").startsWith(field + ": "), r.asString());
    }
}
