package dev.tollgate.webhooks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** credit.expiring and upstream.cooling_down: delivered signed, once per lot and once per cooldown. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class CreditAndUpstreamEventsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aLotExpiringWithinSevenDaysIsAnnouncedOnce() throws Exception {
        try (WebhookReceiver receiver = new WebhookReceiver()) {
            Response hook = WebhooksTest.createWebhook(receiver.url(), List.of("credit.expiring"));
            String secret = hook.path("secret");
            String account = Tollgate.createAccount("expiring lots");
            long soon = ((Number) admin().body(Map.of("amount_usd", "3", "credit_expires_in_days", 3))
                    .post("/admin/v1/accounts/" + account + "/topups").then().statusCode(201).extract().path("entry_id"))
                    .longValue();
            admin().body(Map.of("amount_usd", "4", "credit_expires_in_days", 30))
                    .post("/admin/v1/accounts/" + account + "/topups").then().statusCode(201);
            for (int i = 0; i < 3; i++) {
                admin().post("/admin/v1/maintenance/expire-credits").then().statusCode(200);
            }
            WebhookReceiver.Received r = receiver.next(WebhookReceiver.about(account), 10);
            assertNotNull(r, "no credit.expiring within 10 s");
            assertTrue(WebhooksTest.verifies(secret, r), r::toString);
            JsonNode event = JSON.readTree(r.body());
            assertEquals("credit.expiring", event.get("type").asText());
            assertEquals(account, event.at("/data/account_id").asText());
            assertEquals(soon, event.at("/data/lot_id").asLong());
            assertEquals("3.000000000", event.at("/data/amount_usd").asText());
            assertEquals("3.000000000", event.at("/data/remaining_usd").asText());
            Instant expires = Instant.parse(event.at("/data/expires_at").asText());
            assertTrue(Duration.between(Instant.now(), expires).toHours() >= 71, expires::toString);
            assertNull(receiver.next(WebhookReceiver.about(account), 3),
                    "announced once, and the lot expiring in 30 days not yet");
            admin().delete("/admin/v1/webhooks/" + hook.<String>path("id")).then().statusCode(200);
            Tollgate.assertReconciled(account);
        }
    }

    @Test
    void anUpstreamCoolingDownIsAnnouncedOncePerCooldown() throws Exception {
        String apiKey = "sk-ant-api03-cooling-key-0123456789";
        try (WebhookReceiver receiver = new WebhookReceiver(); FakeUpstream org = FakeUpstream.start(apiKey)) {
            Response hook = WebhooksTest.createWebhook(receiver.url(), List.of("upstream.cooling_down"));
            String secret = hook.path("secret");
            String upstream = admin().body(Map.of("name", "cooling-a", "kind", "anthropic", "base_url", org.baseUrl(),
                            "api_key", apiKey, "priority", -1))
                    .post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
            try {
                org.enqueue(Scenario.overloaded().header("retry-after", "30"));
                String[] acct = Tollgate.fundedAccount("1");
                for (int i = 0; i < 3; i++) {
                    // Served by the configured default upstream once cooling-a sits out.
                    client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 50, "hi")).post("/v1/messages")
                            .then().statusCode(200);
                }
                assertEquals(1, org.messageCalls(), "no call while it cools down");
                WebhookReceiver.Received r = receiver.next(body -> body.contains(upstream), 10);
                assertNotNull(r, "no upstream.cooling_down within 10 s");
                assertTrue(WebhooksTest.verifies(secret, r), r::toString);
                JsonNode event = JSON.readTree(r.body());
                assertEquals("upstream.cooling_down", event.get("type").asText());
                assertEquals(upstream, event.at("/data/upstream_id").asText());
                assertEquals("cooling-a", event.at("/data/upstream_name").asText());
                assertEquals("overloaded", event.at("/data/reason").asText());
                Instant until = Instant.parse(event.at("/data/until").asText());
                assertTrue(until.isAfter(Instant.now().plusSeconds(20)), until::toString);
                assertNull(receiver.next(body -> body.contains(upstream), 3), "one event per cooldown start");
                Tollgate.assertReconciled(acct[0]);
            } finally {
                admin().delete("/admin/v1/upstreams/" + upstream).then().statusCode(204);
                admin().delete("/admin/v1/webhooks/" + hook.<String>path("id")).then().statusCode(200);
            }
        }
    }
}
