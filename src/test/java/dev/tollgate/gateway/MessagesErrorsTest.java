package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every refusal: right status, Anthropic envelope, request id, and no money moved. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class MessagesErrorsTest {

    static final String SONNET = "claude-sonnet-4-6";
    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    /** Asserts the envelope, that request_id equals the header, and returns the response. */
    static Response assertError(Response r, int status, String type) {
        r.then().statusCode(status).contentType(ContentType.JSON)
                .body("type", equalTo("error")).body("error.type", equalTo(type));
        assertEquals(r.header("request-id"), r.path("request_id"));
        return r;
    }

    private void assertNothingMoved(String account, String expectedBalance) {
        assertEquals(0, fake.messageCalls(), "nothing may be sent upstream");
        assertEquals(0, new BigDecimal(expectedBalance).compareTo(balance(account)));
        assertEquals(0, Tollgate.held(account).signum());
        assertReconciled(account);
    }

    @Test
    void missingUnknownAndRevokedKeysAre401() {
        assertError(RestAssured.given().contentType(ContentType.JSON).body(messageBody(SONNET, 10, "hi"))
                .post("/v1/messages"), 401, "authentication_error");
        assertError(client("sk-tg-" + "x".repeat(40)).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"),
                401, "authentication_error");

        String[] acct = Tollgate.fundedAccount("1");
        client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages").then().statusCode(200);
        String keyId = Tollgate.admin().get("/admin/v1/accounts/" + acct[0] + "/keys").then().extract().path("data[0].id");
        Tollgate.admin().delete("/admin/v1/keys/" + keyId).then().statusCode(200).body("revoked_at", org.hamcrest.Matchers.notNullValue());
        assertError(client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 401, "authentication_error");
        assertEquals(1, fake.messageCalls());
    }

    @Test
    void bearerAuthorizationWorksLikeXApiKey() {
        String[] acct = Tollgate.fundedAccount("1");
        RestAssured.given().header("Authorization", "Bearer " + acct[1]).header("anthropic-version", "2023-06-01")
                .contentType(ContentType.JSON).body(messageBody(SONNET, 10, "hi")).post("/v1/messages")
                .then().statusCode(200);
        assertEquals(null, fake.lastRequest().header("authorization"), "client credentials must not go upstream");
    }

    @Test
    void badKeyErrorNamesTheHeaderTheKeyCameIn() {
        String unknown = "sk-tg-" + "x".repeat(40);
        assertError(client(unknown).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 401,
                "authentication_error").then().body("error.message", equalTo("invalid x-api-key"));
        for (String bearer : new String[] {unknown, "not-a-tollgate-key"}) {
            assertError(RestAssured.given().header("Authorization", "Bearer " + bearer)
                    .contentType(ContentType.JSON).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 401,
                    "authentication_error")
                    .then().body("error.message", equalTo("invalid API key in Authorization: Bearer"));
        }
        RestAssured.given().header("Authorization", "Bearer " + unknown).contentType(ContentType.JSON)
                .body("{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                .post("/v1/chat/completions").then().statusCode(401)
                .body("error.code", equalTo("invalid_api_key"))
                .body("error.message", equalTo("invalid API key in Authorization: Bearer"));
        assertEquals(0, fake.messageCalls());
    }

    @Test
    void expiredKeyIs401() throws InterruptedException {
        String account = Tollgate.createAccount("expiring");
        Tollgate.topup(account, "1");
        String key = Tollgate.admin().body(Map.of("name", "short", "expires_at", Instant.now().plusSeconds(1).toString()))
                .post("/admin/v1/accounts/" + account + "/keys").then().statusCode(201).extract().path("key");
        Thread.sleep(1500);
        assertError(client(key).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 401, "authentication_error")
                .then().body("error.message", containsString("expired"));
        assertNothingMoved(account, "1");
    }

    @Test
    void malformedBodiesAre400BeforeAnySpend() {
        String[] acct = Tollgate.fundedAccount("1");
        for (String body : new String[] {
                "{not json",
                "[1,2]",
                "{\"max_tokens\":10,\"messages\":[]}",
                "{\"model\":\"claude-sonnet-4-6\",\"messages\":[]}",
                "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":\"ten\",\"messages\":[]}",
                "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":-1,\"messages\":[]}",
                "{\"model\":42,\"max_tokens\":10}",
                "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,\"stream\":\"yes\"}",
                "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,\"messages\":" + "[".repeat(500) + "]".repeat(500) + "}",
                "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10} trailing"}) {
            assertError(client(acct[1]).body(body).post("/v1/messages"), 400, "invalid_request_error");
        }
        assertNothingMoved(acct[0], "1");
    }

    @Test
    void unpricedModelIs404AndDisallowedModelIs403() {
        String[] acct = Tollgate.fundedAccount("1");
        assertError(client(acct[1]).body(messageBody("claude-typo", 10, "hi")).post("/v1/messages"), 404, "not_found_error")
                .then().body("error.message", equalTo(
                        "model: claude-typo is not a model this gateway serves; GET /v1/models lists the models available"));

        String key = Tollgate.admin().body(Map.of("name", "haiku only", "allowed_models", java.util.List.of("claude-haiku-4-5")))
                .post("/admin/v1/accounts/" + acct[0] + "/keys").then().statusCode(201).extract().path("key");
        assertError(client(key).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 403, "permission_error");
        client(key).body(messageBody("claude-haiku-4-5-20251001", 10, "hi")).post("/v1/messages").then().statusCode(200);
        assertEquals(1, fake.messageCalls());
    }

    @TestHTTPResource("/")
    java.net.URL root;

    /** Declared over 32 MB: refused from the headers alone, without reading (or buffering) the body. */
    @Test
    void bodyOver32MegabytesIs413BeforeItIsRead() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        try (java.net.Socket socket = new java.net.Socket(root.getHost(), root.getPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nx-api-key: " + acct[1]
                    + "\r\ncontent-type: application/json\r\ncontent-length: " + (32L * 1024 * 1024 + 1)
                    + "\r\n\r\n{\"model\":").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
            assertTrue(response.contains("\"type\":\"request_too_large\""), response);
            assertTrue(response.contains("request-id: req_"), response);
        }
        assertNothingMoved(acct[0], "1");
    }

    /** Streamed without a length: refused as soon as the bytes pass the limit. */
    @Test
    void chunkedBodyOver32MegabytesIs413() {
        String[] acct = Tollgate.fundedAccount("1");
        byte[] chunk = new byte[1024 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'a');
        java.io.InputStream endless = new java.io.InputStream() {
            int sent;

            @Override
            public int read() {
                return sent++ < 40 * chunk.length ? 'a' : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (sent >= 40 * chunk.length) {
                    return -1;
                }
                int n = Math.min(len, chunk.length);
                sent += n;
                java.util.Arrays.fill(b, off, off + n, (byte) 'a');
                return n;
            }
        };
        try {
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(root + "v1/messages"))
                            .header("x-api-key", acct[1]).header("content-type", "application/json")
                            .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> endless)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(413, r.statusCode(), r.body());
        } catch (java.io.IOException e) {
            // The connection was closed mid-upload: acceptable only because nothing was buffered or charged.
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertNothingMoved(acct[0], "1");
    }

    @Test
    void emptyBalanceIs402AndNothingIsSentUpstream() {
        String[] acct = Tollgate.fundedAccount("0.0001");
        Response r = assertError(client(acct[1]).body(messageBody(SONNET, 64000, "hi")).post("/v1/messages"),
                402, "billing_error");
        r.then().body("error.message", containsString("needs")).body("error.message", containsString("0.000100000 USD is available"));
        assertNothingMoved(acct[0], "0.0001");

        String[] empty = Tollgate.fundedAccount(null);
        assertError(client(empty[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 402, "billing_error");
        assertNothingMoved(empty[0], "0");
    }

    @Test
    void upstreamErrorsPassThroughAtZeroCost() {
        String[] acct = Tollgate.fundedAccount("1");
        fake.enqueue(Scenario.rateLimited(7));
        Response r = client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages");
        r.then().statusCode(429).header("retry-after", "7").body("error.type", equalTo("rate_limit_error"));
        fake.enqueue(Scenario.overloaded());
        client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages")
                .then().statusCode(529).body("error.type", equalTo("overloaded_error"));

        Response usage = Tollgate.usage(acct[0]);
        assertEquals(2, usage.jsonPath().getList("data").size(), "every call leaves a usage record");
        assertEquals("upstream_error", usage.path("data[0].status"));
        assertEquals(529, (int) usage.path("data[0].http_status"));
        assertEquals("0.000000000", usage.path("data[1].cost_usd"));
        assertEquals(0, BigDecimal.ONE.compareTo(balance(acct[0])));
        assertReconciled(acct[0]);
    }

    @Test
    void upstreamRejectingTheOperatorsKeyIs502NotTheClients401() {
        String[] acct = Tollgate.fundedAccount("1");
        fake.enqueue(Scenario.error(401, "authentication_error", "invalid x-api-key"));
        assertError(client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 502, "api_error")
                .then().body("error.message", containsString("rejected the gateway's credentials"));
        assertEquals("upstream_error", Tollgate.usage(acct[0]).path("data[0].status"));
        assertEquals(0, BigDecimal.ONE.compareTo(balance(acct[0])));
        assertReconciled(acct[0]);
    }

    @Test
    void upstreamTimeoutIs504AndHangUpIs502() {
        String[] acct = Tollgate.fundedAccount("1");
        fake.enqueue(Scenario.delayBeforeHeaders(Duration.ofSeconds(6)));
        assertError(client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 504, "timeout_error");
        fake.enqueue(Scenario.hangUp());
        assertError(client(acct[1]).body(messageBody(SONNET, 10, "hi")).post("/v1/messages"), 502, "api_error");
        assertEquals(0, BigDecimal.ONE.compareTo(balance(acct[0])));
        assertReconciled(acct[0]);
    }

    @Test
    void openRouterStyleModelIsRewrittenAndEverythingElseKept() {
        String[] acct = Tollgate.fundedAccount("1");
        String body = "{\"max_tokens\":10, \"model\" : \"anthropic/claude-sonnet-4.6\",\"messages\":[{\"role\":\"user\",\"content\":\"h\u00e9\"}]}";
        client(acct[1]).body(body).post("/v1/messages").then().statusCode(200);
        String sent = fake.lastRequest().bodyString();
        assertEquals(body.replace("\"anthropic/claude-sonnet-4.6\"", "\"claude-sonnet-4-6\""), sent);
    }

    @Test
    void countTokensIsForwardedAndFree() {
        String[] acct = Tollgate.fundedAccount("1");
        client(acct[1]).body("{\"model\":\"claude-sonnet-4-6\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}")
                .post("/v1/messages/count_tokens").then().statusCode(200).body("input_tokens", org.hamcrest.Matchers.greaterThan(0));
        assertEquals(1, fake.countTokensCalls());
        assertEquals(0, BigDecimal.ONE.compareTo(balance(acct[0])));
        assertEquals(0, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
    }

    @Test
    void modelsAreListedForBothSdks() {
        String[] acct = Tollgate.fundedAccount(null);
        RestAssured.given().header("Authorization", "Bearer " + acct[1]).get("/v1/models?limit=100")
                .then().statusCode(200).body("object", equalTo("list"))
                .body("data.id", org.hamcrest.Matchers.hasItem("claude-sonnet-4-6"))
                .body("data[0].type", equalTo("model")).body("data[0].object", equalTo("model"))
                .body("data[0].owned_by", equalTo("anthropic")).body("has_more", equalTo(false));
        client(acct[1]).get("/v1/models/claude-sonnet-4-6").then().statusCode(200)
                .body("id", equalTo("claude-sonnet-4-6")).body("display_name", equalTo("Claude Sonnet 4.6"));
        assertError(client(acct[1]).get("/v1/models/nope"), 404, "not_found_error");
        assertError(RestAssured.given().get("/v1/models"), 401, "authentication_error");
    }
}
