package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.RecordedRequest;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class MessagesRelayTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void nonStreamingCallIsForwardedVerbatimAndBilledExactly() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Hi there").usage(Usage.of(1000, 200).cacheWrite5m(400).cacheWrite1h(100).cacheRead(3000)));
        String body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":300,\"unknown_future_field\":{\"x\":[1,2]},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
        Response r = client(acct[1]).header("anthropic-beta", "context-1m-2025-08-07").body(body).post("/v1/messages");
        r.then().statusCode(200).header("request-id", startsWith("req_")).body("usage.input_tokens", equalTo(1000));

        RecordedRequest sent = fake.lastRequest();
        assertArrayEquals(body.getBytes(), sent.body(), "the body must reach upstream byte for byte");
        assertEquals(FakeUpstream.API_KEY, sent.header("x-api-key"));
        assertNull(sent.header("authorization"));
        assertEquals("context-1m-2025-08-07", sent.header("anthropic-beta"));
        assertEquals("2023-06-01", sent.header("anthropic-version"));

        // 1000 x 3 + 400 x 3.75 + 100 x 6 + 3000 x 0.30 + 200 x 15 = 9000 micro-USD = 0.009 USD
        assertEquals(0, new BigDecimal("9.991").compareTo(balance(acct[0])));
        Response usage = Tollgate.usage(acct[0]);
        assertEquals("0.009000000", usage.path("data[0].cost_usd"));
        assertEquals(400, (int) usage.path("data[0].cache_creation_5m_input_tokens"));
        assertEquals(100, (int) usage.path("data[0].cache_creation_1h_input_tokens"));
        assertEquals(3000, (int) usage.path("data[0].cache_read_input_tokens"));
        assertEquals("claude-sonnet-4-6", usage.path("data[0].model"));
        assertEquals(r.header("request-id"), usage.path("data[0].request_id"));
        assertFalse((Boolean) usage.path("data[0].stream"));
        assertReconciled(acct[0]);
    }
}
