package dev.tollgate.webhooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class WebhooksTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The Standard Webhooks verification, written from the published specification rather than
     * with the gateway's code: HMAC-SHA256 keyed with the base64 part of whsec_…, over
     * "id.timestamp.body", compared with each "v1,…" entry of the header.
     */
    static boolean verifies(String secret, WebhookReceiver.Received r) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
        String expected = Base64.getEncoder().encodeToString(
                mac.doFinal((r.id() + "." + r.timestamp() + "." + r.body()).getBytes(StandardCharsets.UTF_8)));
        for (String entry : r.signature().split(" ")) {
            if (entry.equals("v1," + expected)) {
                return true;
            }
        }
        return false;
    }

    static Response createWebhook(String url, List<String> events) {
        return admin().body(Map.of("url", url, "events", events)).post("/admin/v1/webhooks")
                .then().statusCode(201).extract().response();
    }

    @Test
    void aTopupIsDeliveredSignedWithinSeconds() throws Exception {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            Response hook = createWebhook(receiver.url(), List.of("topup.created", "redemption.created"));
            String hookId = hook.path("id");
            String secret = hook.path("secret");
            assertTrue(secret.startsWith("whsec_") && Base64.getDecoder().decode(secret.substring(6)).length >= 24, secret);
            String account = Tollgate.createAccount("webhook topup");
            long before = System.currentTimeMillis() / 1000;
            Tollgate.topup(account, "5");

            WebhookReceiver.Received r = receiver.next(WebhookReceiver.about(account), 10);
            assertNotNull(r, "no topup.created within 10 s");
            assertTrue(verifies(secret, r), "signature does not verify: " + r);
            assertFalse(verifies(WebhookSignature.newSecret(), r), "a signature that any secret verifies proves nothing");
            assertTrue(r.id().startsWith("msg_"), r.id());
            assertTrue(Math.abs(Long.parseLong(r.timestamp()) - before) < 60, r.timestamp());
            JsonNode event = JSON.readTree(r.body());
            assertEquals("topup.created", event.get("type").asText());
            assertNotNull(java.time.Instant.parse(event.get("timestamp").asText()));
            assertEquals(account, event.at("/data/account_id").asText());
            assertEquals("5.000000000", event.at("/data/amount_usd").asText());
            assertEquals("5.000000000", event.at("/data/balance_usd").asText());

            Response deliveries = awaitDelivered(hookId, r.id());
            assertEquals(200, (int) deliveries.path("data.find { it.event_id == '" + r.id() + "' }.attempts[0].http_status"));

            Response codes = admin().body(Map.of("count", 1, "amount_usd", "2")).post("/admin/v1/redemption-codes")
                    .then().statusCode(201).extract().response();
            client(Tollgate.createKey(account)).body(Map.of("code", codes.<String>path("codes[0].code")))
                    .post("/v1/me/redeem").then().statusCode(201);
            WebhookReceiver.Received redeemed = receiver.next(WebhookReceiver.about(account), 10);
            assertNotNull(redeemed, "no redemption.created within 10 s");
            assertTrue(verifies(secret, redeemed));
            JsonNode redemption = JSON.readTree(redeemed.body());
            assertEquals("redemption.created", redemption.get("type").asText());
            assertEquals(codes.<String>path("codes[0].id"), redemption.at("/data/code_id").asText());
            assertEquals("7.000000000", redemption.at("/data/balance_usd").asText());
            admin().get("/admin/v1/webhooks").then().statusCode(200)
                    .body("data.find { it.id == '" + hookId + "' }.url", startsWith("http://127.0.0.1:"))
                    .body("data.find { it.id == '" + hookId + "' }", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasKey("secret")));
            admin().delete("/admin/v1/webhooks/" + hookId).then().statusCode(200);
            admin().get("/admin/v1/webhooks/" + hookId).then().statusCode(404);
            admin().get("/admin/v1/webhooks/" + hookId + "/deliveries").then().statusCode(404);
            Tollgate.assertReconciled(account);
        }
    }

    @Test
    void aFailedDeliveryIsRetriedWithTheSameIdAndBody() throws Exception {
        String secret = "whsec_" + Base64.getEncoder().encodeToString("a secret of thirty-two bytes....".getBytes(StandardCharsets.UTF_8));
        try (WebhookReceiver receiver = new WebhookReceiver(500)) {
            String hookId = admin().body(Map.of("url", receiver.url(), "events", List.of("key.created", "key.revoked"),
                    "secret", secret)).post("/admin/v1/webhooks").then().statusCode(201).extract().path("id");
            String account = Tollgate.createAccount("webhook keys");
            Tollgate.createKey(account);

            WebhookReceiver.Received first = receiver.next(WebhookReceiver.about(account), 10);
            assertNotNull(first, "no key.created within 10 s");
            WebhookReceiver.Received second = receiver.next(WebhookReceiver.about(account), 20);
            assertNotNull(second, "key.created was not delivered again after the receiver answered 500");
            assertEquals(first.id(), second.id());
            assertEquals(first.body(), second.body());
            assertTrue(verifies(secret, first) && verifies(secret, second));
            assertEquals("key.created", JSON.readTree(second.body()).get("type").asText());

            Response deliveries = awaitDelivered(hookId, first.id());
            String delivery = "data.find { it.event_id == '" + first.id() + "' }";
            assertEquals(List.of(500, 200), deliveries.path(delivery + ".attempts.http_status"));
            assertNull(deliveries.path(delivery + ".next_attempt_at"));

            admin().delete("/admin/v1/keys/" + Tollgate.newestKeyId(account)).then().statusCode(200);
            WebhookReceiver.Received revoked = receiver.next(WebhookReceiver.about(account), 10);
            assertNotNull(revoked, "no key.revoked within 10 s");
            assertEquals("key.revoked", JSON.readTree(revoked.body()).get("type").asText());
            assertNotEquals(first.id(), revoked.id());
            admin().delete("/admin/v1/webhooks/" + hookId).then().statusCode(200);
        }
    }

    @Test
    void balanceLowIsAnnouncedOncePerCrossing() throws Exception {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String hookId = createWebhook(receiver.url(), List.of("balance.low")).path("id");
            String[] acct = Tollgate.fundedAccount("1");
            admin().body(Map.of("low_balance_threshold_usd", "0.999999")).patch("/admin/v1/accounts/" + acct[0])
                    .then().statusCode(200);
            // Crossing 1, by a settlement; the second call stays below and is no crossing.
            client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "one")).post("/v1/messages").then().statusCode(200);
            runMaintenance();
            client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "two")).post("/v1/messages").then().statusCode(200);
            runMaintenance();
            // Back above the threshold, then crossing 2, by an adjustment.
            Tollgate.topup(acct[0], "1");
            runMaintenance();
            admin().body(Map.of("amount_usd", "-1.5")).post("/admin/v1/accounts/" + acct[0] + "/adjustments")
                    .then().statusCode(201);
            runMaintenance();

            WebhookReceiver.Received first = receiver.next(WebhookReceiver.about(acct[0]), 10);
            WebhookReceiver.Received second = receiver.next(WebhookReceiver.about(acct[0]), 10);
            assertNotNull(second, "expected two balance.low events");
            assertEquals("0.999999000", JSON.readTree(first.body()).at("/data/low_balance_threshold_usd").asText());
            assertNotEquals(JSON.readTree(first.body()).at("/data/since"), JSON.readTree(second.body()).at("/data/since"));
            Thread.sleep(2000);
            runMaintenance();
            assertEquals(List.of(), receiver.drain(WebhookReceiver.about(acct[0])), "more than one event per crossing");
            admin().delete("/admin/v1/webhooks/" + hookId).then().statusCode(200);
            Tollgate.assertReconciled(acct[0]);
        }
    }

    @Test
    void balanceDepletedWhenNoCallCanBePaidFor() throws Exception {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            String hookId = createWebhook(receiver.url(), List.of("balance.depleted")).path("id");
            String neverFunded = Tollgate.createAccount("never funded");
            String account = Tollgate.createAccount("drained");
            Tollgate.topup(account, "1");
            runMaintenance();
            // One nano-dollar left: less than one input and one output token of any model.
            admin().body(Map.of("amount_usd", "-0.999999999")).post("/admin/v1/accounts/" + account + "/adjustments")
                    .then().statusCode(201);
            runMaintenance();
            WebhookReceiver.Received r = receiver.next(WebhookReceiver.about(account), 10);
            assertNotNull(r, "no balance.depleted");
            JsonNode event = JSON.readTree(r.body());
            assertEquals("balance.depleted", event.get("type").asText());
            assertEquals("0.000000001", event.at("/data/available_usd").asText());
            assertTrue(new java.math.BigDecimal(event.at("/data/depleted_below_usd").asText())
                    .compareTo(new java.math.BigDecimal("0.000000001")) > 0, r.body());
            Thread.sleep(1500);
            runMaintenance();
            assertEquals(List.of(), receiver.drain(WebhookReceiver.about(account)), "announced twice");
            assertEquals(List.of(), receiver.drain(WebhookReceiver.about(neverFunded)),
                    "an account that never had money did not become depleted");
            admin().delete("/admin/v1/webhooks/" + hookId).then().statusCode(200);
            Tollgate.assertReconciled(account);
        }
    }

    @Test
    void refusesWhatItCannotDeliver() {
        for (String url : List.of("ftp://example.com/hook", "file:///etc/passwd", "javascript:alert(1)", "http://",
                "not a url", "//example.com/hook")) {
            admin().body(Map.of("url", url, "events", List.of("topup.created"))).post("/admin/v1/webhooks")
                    .then().statusCode(400).body("error.message", startsWith("url: "));
        }
        admin().body(Map.of("url", "https://example.com/hook", "events", List.of())).post("/admin/v1/webhooks")
                .then().statusCode(400).body("error.message", startsWith("events: "));
        admin().body(Map.of("url", "https://example.com/hook", "events", List.of("topup.made")))
                .post("/admin/v1/webhooks").then().statusCode(400).body("error.message", containsString("topup.made"));
        admin().body(Map.of("url", "https://example.com/hook", "events", List.of("topup.created"), "secret", "hunter2"))
                .post("/admin/v1/webhooks").then().statusCode(400).body("error.message", startsWith("secret: "));
        admin().body(Map.of("url", "https://example.com/hook", "events", List.of("topup.created"), "secret", "whsec_c2hvcnQ="))
                .post("/admin/v1/webhooks").then().statusCode(400).body("error.message", containsString("24 to 64 bytes"));
        admin().body(Map.of("url", "https://example.com/hook", "events", List.of("topup.created"), "filter", "x"))
                .post("/admin/v1/webhooks").then().statusCode(400).body("error.message", startsWith("filter: unknown field"));
        admin().get("/admin/v1/webhooks/not-a-webhook").then().statusCode(404);
        String[] developer = Tollgate.fundedAccount(null);
        io.restassured.RestAssured.given().header("Authorization", "Bearer " + developer[1])
                .get("/admin/v1/webhooks").then().statusCode(401);
    }

    /** A test event goes to the one webhook asked for, signed with its secret, and nowhere else. */
    @Test
    void aTestEventReachesOnlyItsWebhookSigned() throws Exception {
        try (WebhookReceiver receiver = new WebhookReceiver(); WebhookReceiver other = new WebhookReceiver()) {
            Response hook = createWebhook(receiver.url(), List.of("key.created"));
            String hookId = hook.path("id");
            String otherId = createWebhook(other.url(), List.of("key.created")).path("id");
            try {
                Response queued = admin().post("/admin/v1/webhooks/" + hookId + "/test").then().statusCode(202)
                        .body("webhook_id", equalTo(hookId)).body("type", equalTo("webhook.test")).extract().response();
                String eventId = queued.path("event_id");
                assertTrue(eventId.startsWith("msg_"), eventId);

                WebhookReceiver.Received r = receiver.next(WebhookReceiver.about(hookId), 10);
                assertNotNull(r, "no webhook.test within 10 s");
                assertEquals(eventId, r.id());
                assertTrue(verifies(hook.path("secret"), r), "signature does not verify: " + r);
                JsonNode event = JSON.readTree(r.body());
                assertEquals("webhook.test", event.get("type").asText());
                assertEquals(hookId, event.at("/data/webhook_id").asText());
                awaitDelivered(hookId, eventId);
                assertEquals(List.of(), other.drain(b -> true), "a test event went to another webhook");
                admin().get("/admin/v1/webhooks/" + otherId + "/deliveries").then().body("data", equalTo(List.of()));
                admin().get("/admin/v1/audit?subject_id=" + hookId).then().body("data.action", hasItem("webhook.test"));

                admin().post("/admin/v1/webhooks/" + java.util.UUID.randomUUID() + "/test").then().statusCode(404);
                admin().post("/admin/v1/webhooks/not-an-id/test").then().statusCode(404);
                io.restassured.RestAssured.given().post("/admin/v1/webhooks/" + hookId + "/test").then().statusCode(401);
                // webhook.test is sent on request only: no webhook can subscribe to it
                admin().body(Map.of("url", receiver.url(), "events", List.of("webhook.test"))).post("/admin/v1/webhooks")
                        .then().statusCode(400);
            } finally {
                admin().delete("/admin/v1/webhooks/" + hookId).then().statusCode(200);
                admin().delete("/admin/v1/webhooks/" + otherId).then().statusCode(200);
            }
        }
    }

    private static void runMaintenance() {
        admin().post("/admin/v1/maintenance/webhooks").then().statusCode(200);
    }

    /** The webhook's deliveries once the event's delivery is delivered (up to 10 s). */
    private static Response awaitDelivered(String hookId, String eventId) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            Response r = admin().get("/admin/v1/webhooks/" + hookId + "/deliveries").then().statusCode(200).extract().response();
            if ("delivered".equals(r.path("data.find { it.event_id == '" + eventId + "' }.state"))) {
                return r;
            }
            assertTrue(System.nanoTime() < deadline, "not delivered: " + r.asString());
            Thread.sleep(100);
        }
    }
}
