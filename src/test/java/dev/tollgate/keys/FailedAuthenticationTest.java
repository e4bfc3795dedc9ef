package dev.tollgate.keys;

import dev.tollgate.api.ApiException;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unknown keys cost one database lookup per key and TTL, never evict known keys, and a client
 * address that keeps failing is refused with 429 before any lookup. The test client sits behind
 * a trusted proxy here, so each test chooses its client address with X-Forwarded-For.
 */
@QuarkusTest
@TestProfile(FailedAuthenticationTest.FiveFailuresPerMinute.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class FailedAuthenticationTest {

    public static class FiveFailuresPerMinute implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.keys.failed-auth-limit", "5", "tollgate.keys.failed-auth-window", "1m",
                    "tollgate.trusted-proxies", "127.0.0.1/32,::1/128",
                    // small, so that a handful of random keys would fill it were unknown keys kept there
                    "tollgate.keys.cache-max-entries", "20");
        }
    }

    @Inject
    ApiKeyService keys;

    @Inject
    AgroalDataSource dataSource;

    @Test
    void theSameUnknownKeyCostsOneLookupPerTtl() {
        String wrong = ApiKeyService.newSecret();
        long before = keys.databaseLookups();
        for (int i = 0; i < 4; i++) {
            from("203.0.113.1", wrong).get("/v1/me").then().statusCode(401);
            ApiException e = assertThrows(ApiException.class, () -> keys.authenticateCached(wrong, () -> "203.0.113.2"));
            assertEquals(401, e.status(), "known to be unknown: refused from memory, on the event loop too");
        }
        assertEquals(1, keys.databaseLookups() - before);
        String scrape = Tollgate.management().get("/metrics").then().statusCode(200).extract().asString();
        assertTrue(scrape.contains("\ntollgate_keys_lookups_total ") && scrape.contains("\ntollgate_auth_refused_total "),
                "lookups and refusals are metrics");
    }

    @Test
    void randomKeysNeverPushAKnownKeyOutOfMemory() {
        String good = Tollgate.fundedAccount("1")[1];
        from("203.0.113.3", good).get("/v1/me").then().statusCode(200);
        for (int i = 0; i < 50; i++) {
            String address = "198.51.100." + i;
            assertThrows(ApiException.class, () -> keys.authenticate(ApiKeyService.newSecret(), () -> address));
        }
        long before = keys.databaseLookups();
        assertNotNull(keys.authenticateCached(good, () -> "203.0.113.3"));
        from("203.0.113.3", good).get("/v1/me").then().statusCode(200);
        assertEquals(0, keys.databaseLookups() - before, "the known key was still in memory");
    }

    @Test
    void anAddressThatKeepsFailingGets429BeforeAnyLookup() {
        String good = Tollgate.fundedAccount("1")[1];
        String attacker = "203.0.113.66";
        from(attacker, good).get("/v1/me").then().statusCode(200); // known here before the attack
        for (int i = 0; i < 5; i++) {
            from(attacker, ApiKeyService.newSecret()).body(messageBody("claude-haiku-4-5", 10, "Hi"))
                    .post("/v1/messages").then().statusCode(401);
        }
        long before = keys.databaseLookups();
        Response refused = from(attacker, ApiKeyService.newSecret()).body(messageBody("claude-haiku-4-5", 10, "Hi"))
                .post("/v1/messages");
        refused.then().statusCode(429).body("type", equalTo("error")).body("error.type", equalTo("rate_limit_error"))
                .body("error.message", startsWith("Too many requests with invalid API keys"));
        long retryAfter = Long.parseLong(refused.header("retry-after"));
        assertTrue(retryAfter >= 1 && retryAfter <= 60, "retry-after " + retryAfter);
        RestAssured.given().header("x-forwarded-for", attacker).header("authorization", "Bearer " + ApiKeyService.newSecret())
                .contentType("application/json")
                .body("{\"model\":\"claude-haiku-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .post("/v1/chat/completions").then().statusCode(429)
                .body("error.type", equalTo("rate_limit_error")).body("error.code", equalTo("rate_limit_exceeded"));
        assertEquals(0, keys.databaseLookups() - before, "refused addresses cost no lookup");
        assertTrue(keys.refusedAddresses() >= 2);

        from(attacker, good).get("/v1/me").then().statusCode(200); // a key known here still works
        from("203.0.113.67", ApiKeyService.newSecret()).get("/v1/me").then().statusCode(401); // others unaffected
    }

    @Test
    void aKeyIssuedForASecretSeenAsUnknownWorksAtOnce() throws Exception {
        String account = Tollgate.createAccount("issued");
        String secret = ApiKeyService.newSecret();
        assertThrows(ApiException.class, () -> keys.authenticate(secret, () -> "203.0.113.9"));
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO api_keys (id, account_id, name, key_hash, prefix) VALUES (?, ?, 'k', ?, ?)")) {
            ps.setObject(1, UUID.randomUUID());
            ps.setObject(2, UUID.fromString(account));
            ps.setBytes(3, keys.hashNewSecret(secret)); // as the admin API issues every secret
            ps.setString(4, ApiKeyService.displayPrefix(secret));
            ps.executeUpdate();
        }
        assertNotNull(keys.authenticate(secret, () -> "203.0.113.9"));
    }

    private static io.restassured.specification.RequestSpecification from(String address, String key) {
        return Tollgate.client(key).header("x-forwarded-for", address);
    }
}
