package dev.tollgate.keys;

import dev.tollgate.api.ApiException;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.Supplier;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rotated key's previous secret stops when its grace period ends, even while this instance
 * still has it in memory (the key cache's TTL here is 5 s, the grace 1 s).
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class KeyRotationGraceTest {

    private static final Supplier<String> LOCAL = () -> "127.0.0.1";

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    ApiKeyService keys;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void thePreviousSecretStopsAtTheEndOfItsGraceEvenWhenCached() throws InterruptedException {
        String[] acct = Tollgate.fundedAccount("1");
        String old = acct[1];
        String keyId = Tollgate.newestKeyId(acct[0]).toString();
        String fresh = admin().body(Map.of("grace_seconds", 1)).post("/admin/v1/keys/" + keyId + "/rotate")
                .then().statusCode(200).extract().path("key");

        // Within the grace both secrets work, and the old one is now in memory on both paths.
        client(old).get("/v1/me").then().statusCode(200);
        assertNotNull(keys.authenticateCached(old, LOCAL), "the old secret is cached");
        fake.enqueue(Scenario.reply("Hi").usage(Usage.of(10, 5)));
        client(old).body(messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages").then().statusCode(200);

        Thread.sleep(1_200); // past the grace, well within the cache's 5 s

        ApiException fastPath = assertThrows(ApiException.class, () -> keys.authenticateCached(old, LOCAL));
        assertEquals(401, fastPath.status());
        assertTrue(fastPath.getMessage().contains("rotated"), fastPath.getMessage());
        client(old).get("/v1/me").then().statusCode(401).body("error.type", equalTo("authentication_error"));
        client(old).body(messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages").then().statusCode(401)
                .body("type", equalTo("error")).body("error.type", equalTo("authentication_error"));
        assertEquals(1, fake.messageCalls(), "nothing reached the upstream with the retired secret");

        fake.enqueue(Scenario.reply("Hi").usage(Usage.of(10, 5)));
        client(fresh).body(messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages").then().statusCode(200);
        Tollgate.assertReconciled(acct[0]);
    }
}
