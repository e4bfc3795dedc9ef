package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Sse;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class MessagesStreamingTest {

    @TestHTTPResource("/v1/messages")
    URL messagesUrl;

    FakeUpstream fake = FakeUpstreamResource.fake();
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private HttpResponse<InputStream> stream(String key, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(messagesUrl.toString()))
                .header("x-api-key", key).header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    private static String streamBody(int maxTokens) {
        return "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":" + maxTokens + ",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me something\"}]}";
    }

    /** The usage record of the account's only call, waiting for the settlement that follows a cut stream. */
    private static Response onlyUsage(String account) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            Response r = Tollgate.usage(account);
            if (!r.jsonPath().getList("data").isEmpty()) {
                return r;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no usage record was written");
    }

    @Test
    void streamIsPassedThroughUnchangedAndMeteredWithCacheSplit() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        fake.enqueue(Scenario.reply("one two three four").usage(Usage.of(50, 4).cacheWrite1h(2000).cacheRead(100)));
        HttpResponse<InputStream> response = stream(acct[1], streamBody(100));
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        String raw = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
        // Padding and pings survive: the bytes were not re-serialised.
        assertTrue(raw.contains("event: ping"), raw);
        assertTrue(raw.matches("(?s).*\"index\":0 +}.*"), "padded JSON must reach the client as sent: " + raw);
        assertTrue(raw.trim().endsWith("data: {\"type\":\"message_stop\"}"), raw);

        Response usage = Tollgate.usage(acct[0]);
        assertEquals("ok", usage.path("data[0].status"));
        assertEquals(true, usage.path("data[0].stream"));
        assertEquals(2000, (int) usage.path("data[0].cache_creation_1h_input_tokens"));
        assertEquals(0, (int) usage.path("data[0].cache_creation_5m_input_tokens"));
        // 50 x 3 + 2000 x 6 + 100 x 0.3 + 4 x 15 = 12240 micro-USD
        assertEquals("0.012240000", usage.path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    @Test
    void firstEventReachesTheClientBeforeTheUpstreamFinishes() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        CountDownLatch release = new CountDownLatch(1);
        fake.enqueue(Scenario.reply("slow reply").pauseAfterMessageStart(release));
        HttpResponse<InputStream> response = stream(acct[1], streamBody(100));
        try (Sse sse = new Sse(response.body())) {
            // The upstream is paused until we release it: if the gateway buffered, this read would never return.
            Sse.Event first = CompletableFuture.supplyAsync(() -> {
                try {
                    return sse.next();
                } catch (java.io.IOException e) {
                    throw new RuntimeException(e);
                }
            }).get(10, TimeUnit.SECONDS);
            assertEquals("message_start", first.name());
            assertEquals(1, release.getCount(), "the upstream must still be paused");
            release.countDown();
            List<Sse.Event> rest = sse.rest();
            assertEquals("message_stop", rest.get(rest.size() - 1).name());
        }
        assertReconciled(acct[0]);
    }

    @Test
    void midStreamErrorBillsInputAndProducedOutput() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        fake.enqueue(Scenario.reply("alpha beta gamma delta epsilon zeta").usage(Usage.of(1000, 6))
                .midStreamError("overloaded_error", "Overloaded", 2));
        HttpResponse<InputStream> response = stream(acct[1], streamBody(100));
        List<Sse.Event> events;
        try (Sse sse = new Sse(response.body())) {
            events = sse.rest();
        }
        assertEquals("error", events.get(events.size() - 1).name());
        assertFalse(events.stream().anyMatch(e -> "message_stop".equals(e.name())));

        Response usage = onlyUsage(acct[0]);
        assertEquals("stream_error", usage.path("data[0].status"));
        assertEquals(1000, (int) usage.path("data[0].input_tokens"));
        assertEquals(2, (int) usage.path("data[0].output_tokens"), "two deltas were produced before the error");
        assertEquals("0.003030000", usage.path("data[0].cost_usd")); // 1000 x 3 + 2 x 15 micro-USD
        assertReconciled(acct[0]);
    }

    @Test
    void upstreamConnectionLostMidStreamIsReportedToTheClient() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        fake.enqueue(Scenario.reply("alpha beta gamma delta").usage(Usage.of(10, 4)).dropConnectionAfterDeltas(1));
        HttpResponse<InputStream> response = stream(acct[1], streamBody(100));
        List<Sse.Event> events;
        try (Sse sse = new Sse(response.body())) {
            events = sse.rest();
        }
        Sse.Event last = events.get(events.size() - 1);
        assertEquals("error", last.name());
        assertTrue(last.data().contains("api_error"), last.data());
        Response usage = onlyUsage(acct[0]);
        assertEquals("stream_error", usage.path("data[0].status"));
        assertEquals(1, (int) usage.path("data[0].output_tokens"));
        assertReconciled(acct[0]);
    }

    @Test
    void clientDisconnectStopsTheUpstreamAndBillsWhatWasProduced() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        String words = String.join(" ", java.util.Collections.nCopies(200, "word"));
        fake.enqueue(Scenario.reply(words).usage(Usage.of(300, 200)).deltaDelay(Duration.ofMillis(20)));
        byte[] body = streamBody(1000).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(messagesUrl.getHost(), messagesUrl.getPort())) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nx-api-key: " + acct[1]
                    + "\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = socket.getInputStream();
            StringBuilder seen = new StringBuilder();
            byte[] buf = new byte[4096];
            while (countOf(seen, "event: content_block_delta") < 3) {
                int n = in.read(buf);
                assertTrue(n > 0, "stream ended early: " + seen);
                seen.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            }
        } // the client goes away mid-stream

        Response usage = onlyUsage(acct[0]);
        assertEquals("client_disconnected", usage.path("data[0].status"));
        assertEquals(300, (int) usage.path("data[0].input_tokens"));
        int output = usage.path("data[0].output_tokens");
        assertTrue(output >= 3 && output < 200, "billed output " + output + " must be what was produced, not all 200");
        assertNotNull(usage.path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    private static int countOf(CharSequence text, String needle) {
        int count = 0;
        for (int i = text.toString().indexOf(needle); i >= 0; i = text.toString().indexOf(needle, i + 1)) {
            count++;
        }
        return count;
    }
}
