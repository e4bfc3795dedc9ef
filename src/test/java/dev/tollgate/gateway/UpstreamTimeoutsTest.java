package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.RawClient;
import dev.tollgate.support.Sse;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The upstream timeouts cover the whole exchange, not only the wait for the response head: a
 * stream's idle timeout applies between its chunks (but not while a slow client holds it back), a
 * JSON call's response timeout to its body too.
 */
@QuarkusTest
@TestProfile(UpstreamTimeoutsTest.ShortTimeouts.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UpstreamTimeoutsTest {

    public static class ShortTimeouts implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.upstream.stream-idle-timeout", "2s", "tollgate.upstream.response-timeout", "3s");
        }
    }

    @TestHTTPResource("/v1/messages")
    URL messagesUrl;

    FakeUpstream fake = FakeUpstreamResource.fake();
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void streamSilentLongerThanTheIdleTimeoutIsCutAndBilledForWhatWasProduced() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        // One delta, then 8 s of silence before the next.
        fake.enqueue(Scenario.reply("alpha beta gamma delta").usage(Usage.of(100, 4)).deltaDelay(Duration.ofSeconds(8)));
        long started = System.nanoTime();
        List<Sse.Event> events = stream(acct[1], streamBody("claude-sonnet-4-5", 100));
        long tookMs = (System.nanoTime() - started) / 1_000_000;

        assertTrue(tookMs < 5000, "the stream must be cut after about 2 s of silence, took " + tookMs + " ms");
        Sse.Event last = events.get(events.size() - 1);
        assertEquals("error", last.name());
        assertTrue(last.data().contains("went silent"), last.data());
        Response usage = onlyUsage(acct[0]);
        assertEquals("stream_error", usage.path("data[0].status"));
        assertEquals(100, (int) usage.path("data[0].input_tokens"));
        assertEquals(1, (int) usage.path("data[0].output_tokens"), "one delta was produced before the silence");
        assertEquals("0.000315000", usage.path("data[0].cost_usd")); // 100 x 3 + 1 x 15 micro-USD
        assertReconciled(acct[0]);
    }

    @Test
    void streamWhoseChunksComeWithinTheIdleTimeoutRunsPastBothTimeouts() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        // 5 deltas 900 ms apart: 3.6 s in all, longer than either timeout, never 2 s silent.
        fake.enqueue(Scenario.reply("one two three four five").usage(Usage.of(10, 5)).deltaDelay(Duration.ofMillis(900)));
        List<Sse.Event> events = stream(acct[1], streamBody("claude-sonnet-4-5", 100));
        assertEquals("message_stop", events.get(events.size() - 1).name());
        assertEquals("ok", onlyUsage(acct[0]).path("data[0].status"));
        assertReconciled(acct[0]);
    }

    @Test
    void jsonBodyStalledPastTheResponseTimeoutIs504AndFree() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        fake.enqueue(Scenario.defaultReply().bodyStall(Duration.ofSeconds(8)));
        long started = System.nanoTime();
        Response r = client(acct[1]).body(Tollgate.messageBody("claude-sonnet-4-5", 100, "hi")).post("/v1/messages");
        long tookMs = (System.nanoTime() - started) / 1_000_000;

        MessagesErrorsTest.assertError(r, 504, "timeout_error");
        assertTrue(tookMs < 6000, "the response timeout covers the body, took " + tookMs + " ms");
        Response usage = onlyUsage(acct[0]);
        assertEquals("upstream_error", usage.path("data[0].status"));
        assertEquals(504, (int) usage.path("data[0].http_status"));
        assertEquals("0.000000000", usage.path("data[0].cost_usd"));
        assertEquals(0, Tollgate.held(acct[0]).signum());
        assertReconciled(acct[0]);
    }

    @Test
    void jsonBodyStalledWithinTheResponseTimeoutIsDelivered() {
        String[] acct = Tollgate.fundedAccount("5");
        fake.enqueue(Scenario.defaultReply().bodyStall(Duration.ofMillis(1000)));
        client(acct[1]).body(Tollgate.messageBody("claude-sonnet-4-5", 100, "hi")).post("/v1/messages")
                .then().statusCode(200);
        assertEquals("ok", Tollgate.usage(acct[0]).path("data[0].status"));
        assertReconciled(acct[0]);
    }

    /**
     * A client that stops reading holds the upstream back (back-pressure), and that silence is not
     * the upstream's: after two and a half idle periods the stream resumes and is billed in full.
     */
    @Test
    void slowReadingClientPausesTheUpstreamWithoutTimingItOut() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        int words = 2000;
        String reply = String.join(" ", Collections.nCopies(words, "x".repeat(8000))); // 16 MB of events
        fake.enqueue(Scenario.reply(reply).usage(Usage.of(10, words)));
        try (Socket socket = RawClient.open(messagesUrl)) {
            RawClient.send(socket, acct[1], streamBody("claude-haiku-4-5", words));
            InputStream in = socket.getInputStream();
            byte[] head = new byte[4096];
            assertTrue(in.read(head) > 0);
            Thread.sleep(5000); // stop reading for two and a half idle timeouts

            assertEquals(0, fake.completedStreams(), "the upstream must be held back while the client does not read");
            Response early = Tollgate.usage(acct[0]);
            assertTrue(early.jsonPath().getList("data").isEmpty(), () -> "the call must still be running: " + early.asString());
            byte[] rest = in.readAllBytes();
            String tail = new String(rest, Math.max(0, rest.length - 200), Math.min(200, rest.length), StandardCharsets.UTF_8);
            assertTrue(rest.length > 16_000_000, "the whole stream must arrive, got " + rest.length + " bytes");
            assertTrue(tail.contains("message_stop"), tail);
        }
        Response usage = onlyUsage(acct[0]);
        assertEquals("ok", usage.path("data[0].status"));
        assertEquals(words, (int) usage.path("data[0].output_tokens"));
        assertReconciled(acct[0]);
    }

    /** Streams a call to its end and returns its events. */
    private List<Sse.Event> stream(String key, String body) throws Exception {
        HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(URI.create(messagesUrl.toString()))
                .header("x-api-key", key).header("anthropic-version", "2023-06-01")
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        try (Sse sse = new Sse(response.body())) {
            return sse.rest();
        }
    }

    static String streamBody(String model, int maxTokens) {
        return "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens + ",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Tell me something\"}]}";
    }

    static Response onlyUsage(String account) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            Response r = Tollgate.usage(account);
            if (!r.jsonPath().getList("data").isEmpty()) {
                return r;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no usage record was written");
    }
}
