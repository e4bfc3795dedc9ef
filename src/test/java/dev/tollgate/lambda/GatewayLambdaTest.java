package dev.tollgate.lambda;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Sse;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Lambda build (-Plambda) driven through its event path: with quarkus-amazon-lambda-http on the
 * class path, Quarkus starts a mock Lambda event server and points RestAssured at it, so every
 * request below becomes an API Gateway HTTP API (v2) event handed to the function's handler, and
 * every response the handler's event reply. Skipped by the default build.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class GatewayLambdaTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void requestsGoThroughTheMockLambdaEventServer() {
        int eventServerPort = ConfigProvider.getConfig()
                .getValue("quarkus.lambda.mock-event-server.test-port", Integer.class);
        assertTrue(eventServerPort > 0, "the event server is listening");
        assertEquals(eventServerPort, RestAssured.port, "RestAssured talks to the event server, not to an HTTP server");
    }

    @Test
    void meteredCallIsBilledExactly() {
        String[] acct = Tollgate.fundedAccount("1");
        fake.enqueue(Scenario.reply("Hi there").usage(Usage.of(1000, 200).cacheWrite5m(400).cacheRead(3000)));
        Response r = client(acct[1]).body(messageBody("claude-sonnet-4-6", 300, "Hello")).post("/v1/messages");
        r.then().statusCode(200).header("request-id", startsWith("req_"))
                .body("content[0].text", equalTo("Hi there"));
        // 1000 x 3 + 400 x 3.75 + 3000 x 0.30 + 200 x 15 = 8400 micro-USD
        assertEquals(0, new BigDecimal("0.9916").compareTo(balance(acct[0])));
        assertEquals(r.header("request-id"), Tollgate.usage(acct[0]).path("data[0].request_id"));
        assertReconciled(acct[0]);
    }

    @Test
    void streamIsBufferedIntoOneResponseAndMeteredExactly() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        fake.enqueue(Scenario.reply("one two three").usage(Usage.of(50, 3).cacheWrite1h(2000)));
        Response r = client(acct[1])
                .body("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":100,\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Count\"}]}")
                .post("/v1/messages");
        r.then().statusCode(200).header("content-type", startsWith("text/event-stream"));
        List<String> names = new ArrayList<>();
        try (Sse sse = new Sse(new ByteArrayInputStream(r.asByteArray()))) {
            for (Sse.Event e = sse.next(); e != null; e = sse.next()) {
                names.add(e.name());
            }
        }
        assertEquals("message_start", names.get(0));
        assertEquals("message_stop", names.get(names.size() - 1));
        assertTrue(new String(r.asByteArray(), StandardCharsets.UTF_8).contains("three"));
        Response usage = Tollgate.usage(acct[0]);
        assertEquals("ok", usage.path("data[0].status"));
        assertEquals(true, usage.path("data[0].stream"));
        // 50 x 3 + 2000 x 6 + 3 x 15 = 12195 micro-USD
        assertEquals("0.012195000", usage.path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    @Test
    void adminCallsAreGuardedByTheToken() {
        RestAssured.given().contentType("application/json").body("{\"name\":\"x\"}").post("/admin/v1/accounts")
                .then().statusCode(401).body("error.type", equalTo("authentication_error"));
        String account = Tollgate.createAccount("lambda customer");
        Tollgate.admin().get("/admin/v1/accounts/" + account).then().statusCode(200)
                .body("name", equalTo("lambda customer")).body("balance_usd", equalTo("0.000000000"));
        Tollgate.admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
    }

    @Test
    void errorsKeepTheirStatusAndEnvelope() {
        String[] acct = Tollgate.fundedAccount(null);
        Response r = client(acct[1]).body(messageBody("claude-sonnet-4-6", 100, "Hi")).post("/v1/messages");
        r.then().statusCode(402).body("type", equalTo("error")).body("error.type", equalTo("billing_error"))
                .body("request_id", equalTo(r.header("request-id")));
        assertEquals(0, fake.messageCalls(), "no message call reached the upstream");
        client("sk-tg-unknown").body(messageBody("claude-sonnet-4-6", 100, "Hi")).post("/v1/messages")
                .then().statusCode(401).body("error.type", equalTo("authentication_error"));
    }
}
