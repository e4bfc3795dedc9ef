package dev.tollgate.api;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Malformed and hostile bodies at every endpoint: always a typed 4xx, never a crash, never money moved. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class HostileInputTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @org.junit.jupiter.api.BeforeEach
    void reset() {
        fake.reset();
    }

    static List<byte[]> hostileBodies() {
        List<byte[]> bodies = new ArrayList<>();
        for (String s : new String[] {
                "", "null", "42", "\"string\"", "[]", "{", "}", "{\"a\":}", "{'single':'quotes'}",
                "{\"model\":\"claude-haiku-4-5\",\"model\":\"claude-opus-4-1\",\"max_tokens\":10}",
                "{\"model\":[\"claude-haiku-4-5\"],\"max_tokens\":10}",
                "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1e309}",
                "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":99999999999999999999999}",
                "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10.5}",
                "{\"model\":null,\"max_tokens\":10}",
                "{\"amount_usd\":\"NaN\"}", "{\"amount_usd\":\"Infinity\"}", "{\"amount_usd\":{}}",
                "{\"name\":" + "\"" + "n".repeat(100_000) + "\"}",
                "{\"model\":\"" + "m".repeat(1_000_000) + "\",\"max_tokens\":1}",
                "[".repeat(100_000),
                "{\"a\":".repeat(5_000) + "1" + "}".repeat(5_000),
                "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":10,\"messages\":\"\u0000\u0001\"}"}) {
            bodies.add(s.getBytes(StandardCharsets.UTF_8));
        }
        bodies.add(new byte[] {'{', '"', 'm', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'}); // invalid UTF-8
        bodies.add(new byte[] {(byte) 0xFF, (byte) 0xFE, 0, 0});
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            byte[] noise = new byte[1 + random.nextInt(2000)];
            random.nextBytes(noise);
            bodies.add(noise);
        }
        return bodies;
    }

    @Test
    void everyEndpointAnswersHostileBodiesWithATyped4xx() {
        String[] acct = Tollgate.fundedAccount("1");
        String keyId = Tollgate.client(acct[1]).get("/v1/me").then().extract().path("key.id");
        String[][] endpoints = {
                {"POST", "/v1/messages", "key"}, {"POST", "/v1/messages/count_tokens", "key"},
                {"POST", "/v1/chat/completions", "key"},
                {"POST", "/admin/v1/accounts", "admin"}, {"POST", "/admin/v1/accounts/" + acct[0] + "/topups", "admin"},
                {"POST", "/admin/v1/accounts/" + acct[0] + "/adjustments", "admin"},
                {"POST", "/admin/v1/accounts/" + acct[0] + "/keys", "admin"},
                {"PATCH", "/admin/v1/accounts/" + acct[0], "admin"}, {"PATCH", "/admin/v1/keys/" + keyId, "admin"},
                {"POST", "/admin/v1/keys/" + keyId + "/rotate", "admin"}};
        for (String[] endpoint : endpoints) {
            for (byte[] body : hostileBodies()) {
                if (body.length == 0 && endpoint[1].endsWith("/rotate")) {
                    continue; // rotate's body is optional: empty is a valid request
                }
                var request = RestAssured.given().contentType("application/json").body(body);
                request = endpoint[2].equals("key") ? request.header("x-api-key", acct[1])
                        : request.header("Authorization", "Bearer " + Tollgate.ADMIN_TOKEN);
                Response r = request.request(endpoint[0], endpoint[1]);
                int status = r.statusCode();
                String what = endpoint[0] + " " + endpoint[1] + " with " + preview(body) + " -> " + status + " " + preview(r.asByteArray());
                assertTrue(status >= 400 && status < 500, what);
                String type = r.path("error.type");
                assertTrue(type != null && !type.isBlank(), "untyped error: " + what);
            }
        }
        assertEquals(0, fake.messageCalls(), () -> "hostile bodies reached upstream: " + fake.requests().stream()
                .map(r -> r.pathAndQuery() + " " + preview(r.body())).toList());
        assertEquals(0, BigDecimal.ONE.compareTo(Tollgate.balance(acct[0])));
        assertReconciled(acct[0]);
        Tollgate.admin().get("/admin/v1/audit?limit=1").then().statusCode(200); // still serving
    }

    @Test
    void oversizedHeadersAreRefusedBeforeAnyWork() {
        String[] acct = Tollgate.fundedAccount("1");
        int status = RestAssured.given().header("x-api-key", acct[1]).header("x-padding", "p".repeat(70_000))
                .contentType("application/json").body(Tollgate.messageBody("claude-haiku-4-5", 10, "hi"))
                .post("/v1/messages").statusCode();
        assertEquals(431, status);
        assertEquals(0, fake.messageCalls());
        Tollgate.admin().get("/admin/v1/audit?limit=1").then().statusCode(200); // still serving
    }

    private static String preview(byte[] bytes) {
        String s = new String(bytes, 0, Math.min(bytes.length, 60), StandardCharsets.UTF_8);
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }

    /** No key, upstream credential or admin token ever reaches a log line, errors included. */
    @Test
    void secretsNeverReachTheLogs() {
        List<String> lines = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                lines.add(String.valueOf(record.getMessage()) + " " + java.util.Arrays.toString(record.getParameters())
                        + " " + (record.getThrown() == null ? "" : record.getThrown().toString()));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try {
            String[] acct = Tollgate.fundedAccount("1");
            Tollgate.client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages")
                    .then().statusCode(200);
            fake.enqueue(dev.tollgate.testing.Scenario.hangUp());
            Tollgate.client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages")
                    .then().statusCode(502);
            Tollgate.client(acct[1] + "x").body("{}").post("/v1/messages").then().statusCode(401);
            RestAssured.given().header("Authorization", "Bearer nope-" + Tollgate.ADMIN_TOKEN).get("/admin/v1/audit")
                    .then().statusCode(401);
            assertFalse(lines.isEmpty(), "the capture saw no log lines at all");
            for (String line : lines) {
                assertFalse(line.contains(acct[1].substring(12)), "a key reached the logs: " + line);
                assertFalse(line.contains(FakeUpstream.API_KEY), "the upstream key reached the logs: " + line);
                assertFalse(line.contains(Tollgate.ADMIN_TOKEN), "the admin token reached the logs: " + line);
            }
        } finally {
            root.removeHandler(capture);
        }
    }
}
