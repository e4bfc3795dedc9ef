package dev.tollgate.limits;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import io.restassured.RestAssured;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two gateway processes on one database: instance A is the packaged application under test,
 * instance B a second process of the same jar. One key's limits must hold for both combined, a
 * revocation must reach both, and both must route a conversation to the same pooled upstream.
 */
@QuarkusIntegrationTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class TwoInstancesIT {

    static Process instanceB;
    static int portB;
    /** Instance B's management port (its readiness probe). */
    static int managementPortB;

    @BeforeAll
    static void startInstanceB() throws Exception {
        try (ServerSocket socket = new ServerSocket(0); ServerSocket management = new ServerSocket(0)) {
            portB = socket.getLocalPort();
            managementPortB = management.getLocalPort();
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java,
                "-Dquarkus.profile=test",
                "-Dquarkus.http.port=" + portB,
                "-Dquarkus.management.port=" + managementPortB,
                "-Dquarkus.flyway.clean-at-start=false",
                "-Dtollgate.upstream.base-url=" + FakeUpstreamResource.fake().baseUrl(),
                "-Dtollgate.upstream.api-key=" + FakeUpstream.API_KEY,
                "-jar", new File("target/quarkus-app/quarkus-run.jar").getAbsolutePath()));
        instanceB = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(new File("target/instance-b.log")).start();
        HttpClient http = HttpClient.newHttpClient();
        for (int i = 0; i < 120; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPortB + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // still starting
            }
            Thread.sleep(500);
        }
        throw new AssertionError("instance B did not become ready; see target/instance-b.log");
    }

    @AfterAll
    static void stopInstanceB() throws InterruptedException {
        if (instanceB != null) {
            instanceB.destroy();
            instanceB.waitFor(20, TimeUnit.SECONDS);
        }
    }

    /**
     * Stickiness with no shared state: both instances rank the pool by rendezvous hashing of the
     * conversation's {@code metadata.user_id}, so turns alternating between them land on one upstream;
     * when that upstream is disabled, only its own conversations move, and both move them alike.
     */
    @Test
    void bothInstancesRouteAConversationToTheSameUpstream() throws InterruptedException {
        String[] acct = Tollgate.fundedAccount("5");
        Map<String, FakeUpstream> fakes = new LinkedHashMap<>();
        Map<String, String> ids = new LinkedHashMap<>();
        try {
            for (String name : List.of("org-a", "org-b", "org-c")) {
                String key = "sk-ant-api03-" + name + "-two-instances";
                FakeUpstream fake = FakeUpstream.start(key);
                fakes.put(name, fake);
                ids.put(name, Tollgate.admin().body(Map.of("name", name, "kind", "anthropic", "base_url", fake.baseUrl(),
                        "api_key", key, "priority", -1)).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id"));
            }
            awaitPoolOn(portB, acct[1], fakes);

            Map<String, String> firstHome = new HashMap<>();
            for (int turn = 0; turn < 4; turn++) {
                for (int user = 0; user < 30; user++) {
                    String served = conversationTurn(turn % 2 == 0 ? RestAssured.port : portB, acct[1], "conv-" + user, fakes);
                    String home = firstHome.putIfAbsent("conv-" + user, served);
                    assertEquals(home == null ? served : home, served, "conv-" + user + " turn " + turn + " moved");
                }
            }
            assertEquals(3, new HashSet<>(firstHome.values()).size(), "30 conversations spread over all three: " + firstHome);

            Tollgate.admin().body(Map.of("enabled", false)).patch("/admin/v1/upstreams/" + ids.get("org-a")).then().statusCode(200);
            awaitAvoided(portB, acct[1], fakes, "org-a");
            for (int user = 0; user < 30; user++) {
                String conversation = "conv-" + user;
                String onA = conversationTurn(RestAssured.port, acct[1], conversation, fakes);
                String onB = conversationTurn(portB, acct[1], conversation, fakes);
                assertEquals(onA, onB, conversation + " routed differently by the two instances");
                if (!firstHome.get(conversation).equals("org-a")) {
                    assertEquals(firstHome.get(conversation), onA, conversation + " moved although its upstream is healthy");
                } else {
                    assertTrue(!onA.equals("org-a"), conversation + " still sent to the disabled upstream");
                }
            }
            assertReconciled(acct[0]);
        } finally {
            ids.values().forEach(id -> Tollgate.admin().delete("/admin/v1/upstreams/" + id));
            fakes.values().forEach(FakeUpstream::close);
        }
    }

    /** Sends one turn of {@code conversation} and returns the name of the fake that served it. */
    private static String conversationTurn(int port, String key, String conversation, Map<String, FakeUpstream> fakes) {
        Map<String, Integer> before = new HashMap<>();
        fakes.forEach((name, fake) -> before.put(name, fake.messageCalls()));
        RestAssured.given().port(port).header("x-api-key", key).contentType("application/json")
                .body("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10,\"metadata\":{\"user_id\":\"" + conversation
                        + "\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .post("/v1/messages").then().statusCode(200);
        List<String> served = fakes.keySet().stream().filter(name -> fakes.get(name).messageCalls() > before.get(name)).toList();
        assertEquals(1, served.size(), conversation + " served by " + served);
        return served.get(0);
    }

    /** Waits until instance B routes to the pool (it reloads stored upstreams within the cache TTL). */
    private static void awaitPoolOn(int port, String key, Map<String, FakeUpstream> fakes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            int before = fakes.values().stream().mapToInt(FakeUpstream::messageCalls).sum();
            assertEquals(200, call(port, key));
            if (fakes.values().stream().mapToInt(FakeUpstream::messageCalls).sum() > before) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "instance B does not see the stored upstreams after 15 s");
            Thread.sleep(250);
        }
    }

    /** Waits until instance B no longer routes to {@code disabled}, probing with many conversations. */
    private static void awaitAvoided(int port, String key, Map<String, FakeUpstream> fakes, String disabled)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            int before = fakes.get(disabled).messageCalls();
            for (int user = 0; user < 30; user++) {
                conversationTurn(port, key, "conv-" + user, fakes);
            }
            if (fakes.get(disabled).messageCalls() == before) {
                return;
            }
            assertTrue(System.nanoTime() < deadline, "instance B still routes to a disabled upstream after 15 s");
            Thread.sleep(250);
        }
    }

    private static int call(int port, String key) {
        return RestAssured.given().port(port).header("x-api-key", key).contentType("application/json")
                .body(messageBody("claude-haiku-4-5", 10, "Hello")).post("/v1/messages").statusCode();
    }

    @Test
    void aKeysRateLimitHoldsAcrossBothInstances() {
        String account = Tollgate.fundedAccount("5")[0];
        String key = Tollgate.admin().body(Map.of("name", "shared", "requests_per_minute", 6))
                .post("/admin/v1/accounts/" + account + "/keys").then().statusCode(201).extract().path("key");
        int ok = 0;
        int limited = 0;
        for (int i = 0; i < 12; i++) {
            int status = call(i % 2 == 0 ? RestAssured.port : portB, key);
            assertTrue(status == 200 || status == 429, "status " + status);
            ok += status == 200 ? 1 : 0;
            limited += status == 429 ? 1 : 0;
        }
        assertEquals(6, ok, "6 requests per minute across both instances");
        assertEquals(6, limited);
        assertTrue(call(portB, key) == 429 && call(RestAssured.port, key) == 429, "both instances still refuse");
        assertReconciled(account);
    }

    @Test
    void aRevocationReachesTheOtherInstanceWithinTheCacheTtl() throws InterruptedException {
        String[] acct = Tollgate.fundedAccount("1");
        assertEquals(200, call(portB, acct[1]));
        String keyId = RestAssured.given().header("x-api-key", acct[1]).get("/v1/me").then().extract().path("key.id");
        Tollgate.admin().delete("/admin/v1/keys/" + keyId).then().statusCode(200);
        assertEquals(401, call(RestAssured.port, acct[1]), "at once on the instance that revoked it");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (call(portB, acct[1]) != 401) {
            assertTrue(System.nanoTime() < deadline, "instance B still accepts the revoked key after 10 s");
            Thread.sleep(250);
        }
    }
}
