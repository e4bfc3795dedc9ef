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
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two gateway processes on one database: instance A is the packaged application under test,
 * instance B a second process of the same jar. One key's limits must hold for both combined.
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
