package dev.tollgate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hold is a bound for what the call can cost, also for input the body does not contain: calls
 * billed at their full size never take a small balance below zero, however many run at once.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class HoldBoundsTest {

    /** Haiku 4.5: $1 input, $2 1h cache write, $5 output per million tokens; 200K context window. */
    static final String HAIKU = "claude-haiku-4-5";
    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static String documentCall(String source) {
        return "{\"model\":\"" + HAIKU + "\",\"max_tokens\":1024,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"document\",\"source\":" + source + "},{\"type\":\"text\",\"text\":\"Summarise it.\"}]}]}";
    }

    private static void assertNeverBelowZero(String account) throws InterruptedException {
        Tollgate.awaitNothingHeld(account);
        assertTrue(balance(account).signum() >= 0, "balance went below zero: " + balance(account));
        assertReconciled(account);
    }

    /**
     * 60K tokens each: three calls' counted bounds fit $0.20, a fourth does not. Held as their few
     * body bytes, all four would be admitted and cost $0.24.
     */
    @Test
    void documentsByFileAreHeldAtTheSizeCountTokensReports() throws Exception {
        String[] acct = Tollgate.fundedAccount("0.20");
        String file = ownFile(acct[1], 60_000);
        List<Integer> statuses = Tollgate.callConcurrently(acct[1],
                documentCall("{\"type\":\"file\",\"file_id\":\"" + file + "\"}"), 4);

        assertEquals(3, Collections.frequency(statuses, 200), statuses.toString());
        assertEquals(1, Collections.frequency(statuses, 402), statuses.toString());
        assertTrue(fake.countTokensCalls() >= 4, "every call is counted before it is held");
        assertNeverBelowZero(acct[0]);
        assertTrue(balance(acct[0]).compareTo(new BigDecimal("0.03")) < 0, "three document-sized calls were billed");
    }

    /** A file the account uploaded through the gateway (its own: another's would be 404), read as {@code tokens}. */
    private String ownFile(String key, int tokens) {
        String id = io.restassured.RestAssured.given().header("x-api-key", key).header("anthropic-version", "2023-06-01")
                .multiPart("file", "report.txt", "a report".getBytes(java.nio.charset.StandardCharsets.UTF_8), "text/plain")
                .post("/v1/files").then().statusCode(200).extract().path("id");
        fake.hostDocument(id, tokens);
        return id;
    }

    @Test
    void aBalanceThatCoversTheContextWindowNeedsNoCount() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        String file = ownFile(acct[1], 60_000);
        client(acct[1]).body(documentCall("{\"type\":\"file\",\"file_id\":\"" + file + "\"}"))
                .post("/v1/messages").then().statusCode(200);
        assertEquals(0, fake.countTokensCalls());
        assertNeverBelowZero(acct[0]);
    }

    /** A limit counts a hold's tokens: a key under the context window is held at the counted size at once. */
    @Test
    void aKeyWithATokenLimitIsHeldAtTheCountedSize() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        String file = ownFile(acct[1], 60_000);
        String key = Tollgate.admin().body(Map.of("name", "limited", "tokens_per_minute", 100_000))
                .post("/admin/v1/accounts/" + acct[0] + "/keys").then().statusCode(201).extract().path("key");
        client(key).body(documentCall("{\"type\":\"file\",\"file_id\":\"" + file + "\"}"))
                .post("/v1/messages").then().statusCode(200);
        assertEquals(1, fake.countTokensCalls());
        assertNeverBelowZero(acct[0]);
    }

    /**
     * A URL is fetched anew by the call, so a count could see other content: the hold is the whole
     * context window ($0.20 + output), and $0.25 pays for one such call at a time.
     */
    @Test
    void documentsByUrlAreHeldAtTheContextWindow() throws Exception {
        fake.hostDocument("https://example.com/report.pdf", 80_000);
        String[] acct = Tollgate.fundedAccount("0.25");
        String call = documentCall("{\"type\":\"url\",\"url\":\"https://example.com/report.pdf\"}");
        List<Integer> statuses = Tollgate.callConcurrently(acct[1], call, 4);

        assertTrue(Collections.frequency(statuses, 200) >= 1, statuses.toString());
        assertEquals(0, fake.countTokensCalls(), "a count of a URL bounds nothing");
        assertNeverBelowZero(acct[0]);
        client(acct[1]).body(call).post("/v1/messages").then().statusCode(402)
                .body("error.message", containsString("context window"));
    }

    @Test
    void mcpServersAreHeldAtTheContextWindow() {
        String[] acct = Tollgate.fundedAccount("0.20");
        String body = "{\"model\":\"" + HAIKU + "\",\"max_tokens\":1024,"
                + "\"mcp_servers\":[{\"type\":\"url\",\"url\":\"https://mcp.example.com/sse\",\"name\":\"crm\"}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"List my open deals.\"}]}";
        Response r = client(acct[1]).header("anthropic-beta", "mcp-client-2025-04-04").body(body).post("/v1/messages");
        MessagesErrorsTest.assertError(r, 402, "billing_error");
        assertEquals(0, fake.messageCalls());
        assertReconciled(acct[0]);
    }

    /**
     * A tool definition with a 1h cache_control makes its tokens 1h cache writes ($2, not $1): the
     * counted bound must be priced so, or the call costs more than was held.
     */
    @Test
    void cacheControlOnAToolIsHeldAtTheCacheWritePrice() throws Exception {
        String body = "{\"model\":\"" + HAIKU + "\",\"max_tokens\":16,\"tools\":[{\"name\":\"lookup\",\"description\":\""
                + "Looks things up. ".repeat(500) + "\",\"input_schema\":{\"type\":\"object\"},"
                + "\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Look up the weather.\"}]}";
        int counted = FakeUpstream.countInputTokens(new ObjectMapper().readTree(body));
        int afterBreakpoint = 9;
        Usage prefixWritten = Usage.of(afterBreakpoint, 5).cacheWrite1h(counted - afterBreakpoint);
        // Held at the input price the call fits $0.003; billed, it costs about $0.0043.
        for (String usd : new String[] {"0.003", "0.005"}) {
            String[] acct = Tollgate.fundedAccount(usd);
            fake.enqueue(Scenario.reply("Sunny.").usage(prefixWritten));
            client(acct[1]).body(body).post("/v1/messages");
            assertNeverBelowZero(acct[0]);
        }
        assertEquals(1, fake.messageCalls(), "only the balance that covers the cache writes is served");
    }
}
