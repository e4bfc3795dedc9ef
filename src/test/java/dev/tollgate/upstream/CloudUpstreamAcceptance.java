package dev.tollgate.upstream;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.TextDelta;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Sse;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.CloudFake;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.restassured.response.Response;
import io.quarkus.test.common.http.TestHTTPResource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.URL;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The acceptance of Anthropic direct, through a cloud kind of upstream: JSON and streaming, tools,
 * cache writes (5m and 1h) and reads, a mid-stream error, throttling failing over to another
 * upstream, count_tokens, the Anthropic and OpenAI SDKs; every call billed exactly as the same call
 * through Anthropic direct (the configured default upstream, the same fake conversation) and the
 * ledger reconciled. Subclasses register their kind at priority -1, ahead of the default.
 */
public abstract class CloudUpstreamAcceptance {

    protected static final String MODEL = "claude-haiku-4-5";

    @TestHTTPResource("/v1")
    URL v1;

    protected final FakeUpstream direct = FakeUpstreamResource.fake();
    protected String upstreamId;

    /** The fake cloud, started once per class. */
    protected abstract CloudFake cloud();

    /** The admin API body that registers the cloud upstream. */
    protected abstract Map<String, Object> registration();

    @BeforeEach
    void registerCloud() {
        direct.reset();
        cloud().reset();
        removeUpstreams();
        upstreamId = register(registration());
    }

    @AfterEach
    void removeCloud() {
        removeUpstreams();
    }

    protected static String register(Map<String, Object> body) {
        Map<String, Object> withPriority = new HashMap<>(body);
        withPriority.putIfAbsent("priority", -1);
        return Tollgate.admin().body(withPriority).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
    }

    protected static void removeUpstreams() {
        List<String> ids = Tollgate.admin().get("/admin/v1/upstreams").then().statusCode(200).extract()
                .jsonPath().getList("data.findAll { !it.configured }.id");
        for (String id : ids) {
            Tollgate.admin().delete("/admin/v1/upstreams/" + id).then().statusCode(204);
        }
    }

    /** Makes the next calls go to Anthropic direct (the configured default). */
    protected void disableCloud() {
        Tollgate.admin().body(Map.of("enabled", false)).patch("/admin/v1/upstreams/" + upstreamId).then().statusCode(200);
    }

    /** A conversation with a tool call and every kind of cache token. */
    protected static Scenario toolsAndCache() {
        return Scenario.reply("Let me look that up for you.")
                .toolUse("toolu_01A09q90qw90lq917835lq9", "get_weather", "{\"location\":\"Paris\",\"unit\":\"celsius\"}")
                .usage(Usage.of(120, 37).cacheWrite5m(2048).cacheWrite1h(1024).cacheRead(4096));
    }

    protected static String toolBody(boolean stream) {
        return "{\"model\":\"" + MODEL + "\",\"max_tokens\":300," + (stream ? "\"stream\":true," : "")
                + "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\",\"input_schema\":{\"type\":\"object\","
                + "\"properties\":{\"location\":{\"type\":\"string\"}}}}],"
                + "\"system\":[{\"type\":\"text\",\"text\":\"You are a weather bot.\",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Paris?\","
                + "\"cache_control\":{\"type\":\"ephemeral\"}}]}],\"temperature\":0.7}";
    }

    /** The newest usage record of an account. */
    protected static Map<String, Object> lastRecord(String account) {
        return Tollgate.usage(account).jsonPath().getMap("data[0]");
    }

    /** What billing looked at: tokens of each kind, cost, status. */
    protected static Map<String, Object> billed(Map<String, Object> record) {
        Map<String, Object> b = new HashMap<>();
        for (String k : List.of("input_tokens", "output_tokens", "cache_creation_5m_input_tokens",
                "cache_creation_1h_input_tokens", "cache_read_input_tokens", "cost_usd", "status", "http_status")) {
            b.put(k, record.get(k));
        }
        return b;
    }

    private static List<Sse.Event> stream(String key, String body) throws Exception {
        Response response = client(key).body(body).post("/v1/messages");
        assertEquals(200, response.statusCode(), response::asString);
        try (InputStream in = response.asInputStream(); Sse sse = new Sse(in)) {
            List<Sse.Event> events = new ArrayList<>();
            for (Sse.Event e : sse.rest()) {
                events.add(new Sse.Event(e.name(), e.data() == null ? null
                        : e.data().replaceAll("\"id\":\"msg_[A-Za-z0-9_]*\"", "\"id\":\"msg\"")));
            }
            return events;
        }
    }

    @Test
    public void jsonCallWithToolsAndCacheIsBilledAsDirect() {
        String[] viaCloud = Tollgate.fundedAccount("10");
        cloud().anthropic().enqueue(toolsAndCache());
        Response cloudAnswer = client(viaCloud[1]).body(toolBody(false)).post("/v1/messages");
        assertEquals(200, cloudAnswer.statusCode(), cloudAnswer::asString);
        assertEquals("tool_use", cloudAnswer.path("stop_reason"));
        assertEquals("get_weather", cloudAnswer.path("content[1].name"));
        assertEquals(2048, (int) cloudAnswer.path("usage.cache_creation.ephemeral_5m_input_tokens"));
        assertEquals(0, direct.messageCalls(), "served by the cloud");
        Map<String, Object> cloudRecord = lastRecord(viaCloud[0]);
        assertEquals(upstreamId, cloudRecord.get("upstream_id"));

        disableCloud();
        String[] viaDirect = Tollgate.fundedAccount("10");
        direct.enqueue(toolsAndCache());
        client(viaDirect[1]).body(toolBody(false)).post("/v1/messages").then().statusCode(200);
        Map<String, Object> directRecord = lastRecord(viaDirect[0]);

        assertEquals(billed(directRecord), billed(cloudRecord));
        assertEquals(2048, ((Number) cloudRecord.get("cache_creation_5m_input_tokens")).intValue());
        assertEquals(1024, ((Number) cloudRecord.get("cache_creation_1h_input_tokens")).intValue());
        assertTrue(Tollgate.balance(viaCloud[0]).compareTo(Tollgate.balance(viaDirect[0])) == 0);
        assertReconciled(viaCloud[0]);
        assertReconciled(viaDirect[0]);
    }

    @Test
    public void streamedEventsEqualDirectEventForEventAndAreBilledAsDirect() throws Exception {
        String[] viaCloud = Tollgate.fundedAccount("10");
        cloud().anthropic().enqueue(toolsAndCache().thinking("The user wants the weather, so I call the tool."));
        List<Sse.Event> cloudEvents = stream(viaCloud[1], toolBody(true));
        Map<String, Object> cloudRecord = lastRecord(viaCloud[0]);

        disableCloud();
        String[] viaDirect = Tollgate.fundedAccount("10");
        direct.enqueue(toolsAndCache().thinking("The user wants the weather, so I call the tool."));
        List<Sse.Event> directEvents = stream(viaDirect[1], toolBody(true));
        Map<String, Object> directRecord = lastRecord(viaDirect[0]);

        // Signatures of thinking blocks are random per reply: compared by presence.
        List<Sse.Event> a = withoutSignatures(cloudEvents);
        List<Sse.Event> b = withoutSignatures(directEvents);
        assertEquals(b.size(), a.size(), () -> "cloud " + cloudEvents + "\ndirect " + directEvents);
        for (int i = 0; i < a.size(); i++) {
            assertEquals(b.get(i), a.get(i), "event " + i);
        }
        assertTrue(a.stream().anyMatch(e -> "message_stop".equals(e.name()) && e.data().equals("{\"type\":\"message_stop\"}")));
        assertEquals("ok", cloudRecord.get("status"));
        assertEquals(billed(directRecord), billed(cloudRecord));
        assertReconciled(viaCloud[0]);
        assertReconciled(viaDirect[0]);
    }

    private static List<Sse.Event> withoutSignatures(List<Sse.Event> events) {
        return events.stream().map(e -> new Sse.Event(e.name(), e.data() == null ? null
                : e.data().replaceAll("\"signature\":\"[^\"]*\"", "\"signature\":\"s\""))).toList();
    }

    @Test
    public void aMidStreamErrorReachesTheClientAndIsBilledAsDirect() throws Exception {
        String[] viaCloud = Tollgate.fundedAccount("10");
        cloud().anthropic().enqueue(Scenario.reply("one two three four five six").usage(Usage.of(50, 6))
                .midStreamError("overloaded_error", "Overloaded", 2));
        List<Sse.Event> events = stream(viaCloud[1], Tollgate.messageBody(MODEL, 100, "Count").replace("{\"model\"",
                "{\"stream\":true,\"model\""));
        Sse.Event last = events.get(events.size() - 1);
        assertEquals("error", last.name());
        assertTrue(last.data().contains("\"overloaded_error\""), last.data());
        assertFalse(events.stream().anyMatch(e -> "message_stop".equals(e.name())));
        Map<String, Object> cloudRecord = lastRecord(viaCloud[0]);
        assertEquals("stream_error", cloudRecord.get("status"));

        disableCloud();
        String[] viaDirect = Tollgate.fundedAccount("10");
        direct.enqueue(Scenario.reply("one two three four five six").usage(Usage.of(50, 6))
                .midStreamError("overloaded_error", "Overloaded", 2));
        stream(viaDirect[1], Tollgate.messageBody(MODEL, 100, "Count").replace("{\"model\"", "{\"stream\":true,\"model\""));
        assertEquals(billed(lastRecord(viaDirect[0])), billed(cloudRecord));
        assertReconciled(viaCloud[0]);
        assertReconciled(viaDirect[0]);
    }

    @TestHTTPResource("/v1/messages")
    URL messagesUrl;

    @Test
    public void aStreamWhoseClientLeftIsStoppedAtTheCloudAndBilledForWhatWasProduced() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        String words = String.join(" ", java.util.Collections.nCopies(200, "word"));
        cloud().anthropic().enqueue(Scenario.reply(words).usage(Usage.of(300, 200)).deltaDelay(Duration.ofMillis(20))
                .headersDelay(Duration.ofMillis(800)));
        try (java.net.Socket socket = dev.tollgate.support.RawClient.open(messagesUrl)) {
            dev.tollgate.support.RawClient.send(socket, acct[1], "{\"model\":\"" + MODEL
                    + "\",\"max_tokens\":1000,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            for (int i = 0; i < 200 && cloud().anthropic().messageCalls() == 0; i++) {
                Thread.sleep(10);
            }
            assertEquals(1, cloud().anthropic().messageCalls(), "the call reached the cloud");
        }
        Map<String, Object> record = null;
        for (int i = 0; i < 300 && record == null; i++) {
            List<Map<String, Object>> data = Tollgate.usage(acct[0]).jsonPath().getList("data");
            record = data.isEmpty() ? null : data.get(0);
            Thread.sleep(20);
        }
        assertNotNull(record, "settled");
        assertEquals("client_disconnected", record.get("status"));
        assertEquals(300, ((Number) record.get("input_tokens")).intValue());
        int output = ((Number) record.get("output_tokens")).intValue();
        assertTrue(output < 200, "billed output " + output + " must be what was produced, not all 200");
        for (int i = 0; i < 100 && cloud().closedEarly() == 0; i++) {
            Thread.sleep(20);
        }
        assertEquals(1, cloud().closedEarly(), "the gateway stopped the cloud's stream rather than draining it");
        assertEquals(0, cloud().anthropic().completedStreams());
        assertReconciled(acct[0]);
    }

    @Test
    public void throttlingFailsOverToAnotherUpstreamAndCoolsTheCloudDown() {
        String[] acct = Tollgate.fundedAccount("10");
        cloud().anthropic().enqueue(Scenario.rateLimited(30));
        direct.enqueue(Scenario.reply("Served by the other upstream").usage(Usage.of(20, 5)));
        Response answer = client(acct[1]).body(Tollgate.messageBody(MODEL, 50, "Hi")).post("/v1/messages");
        assertEquals(200, answer.statusCode(), answer::asString);
        assertEquals("Served by the other upstream", answer.path("content[0].text"));
        Map<String, Object> record = lastRecord(acct[0]);
        assertEquals("default", record.get("upstream_name"));
        assertEquals(2, ((Number) record.get("attempts")).intValue());
        assertEquals(1, cloud().anthropic().messageCalls());
        assertEquals("cooling_down", Tollgate.admin().get("/admin/v1/upstreams/" + upstreamId).then().statusCode(200)
                .extract().path("state"));
        assertEquals(1, Tollgate.usage(acct[0]).jsonPath().getList("data").size(), "billed once");
        assertReconciled(acct[0]);
    }

    @Test
    public void countTokensIsAnsweredInAnthropicsShape() {
        String[] acct = Tollgate.fundedAccount("10");
        String body = "{\"model\":\"" + MODEL + "\",\"system\":\"Be brief.\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"How many tokens is this sentence?\"}]}";
        Response viaCloud = client(acct[1]).body(body).post("/v1/messages/count_tokens");
        assertEquals(200, viaCloud.statusCode(), viaCloud::asString);
        assertEquals(1, cloud().anthropic().countTokensCalls());
        disableCloud();
        Response viaDirect = client(acct[1]).body(body).post("/v1/messages/count_tokens");
        assertEquals(viaDirect.<Integer>path("input_tokens"), viaCloud.<Integer>path("input_tokens"));
        assertEquals(List.of("input_tokens"), new ArrayList<>(viaCloud.jsonPath().getMap("").keySet()));
        assertTrue(Tollgate.usage(acct[0]).jsonPath().getList("data").isEmpty(), "free");
    }

    @Test
    public void theAnthropicSdkWorksByBaseUrlSwap() {
        String[] acct = Tollgate.fundedAccount("10");
        AnthropicClient sdk = AnthropicOkHttpClient.builder().baseUrl(v1.toString().replaceAll("/v1$", ""))
                .apiKey(acct[1]).maxRetries(0).timeout(Duration.ofSeconds(20)).build();
        MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(100)
                .addUserMessage("Say hello").build();

        cloud().anthropic().enqueue(Scenario.reply("Hello from the cloud").usage(Usage.of(12, 4)));
        Message message = sdk.messages().create(params);
        assertEquals("Hello from the cloud", message.content().get(0).text().orElseThrow().text());
        assertEquals(12, message.usage().inputTokens());

        cloud().anthropic().enqueue(Scenario.reply("Streamed from the cloud").usage(Usage.of(12, 4)));
        StringBuilder text = new StringBuilder();
        try (StreamResponse<RawMessageStreamEvent> stream = sdk.messages().createStreaming(params)) {
            stream.stream().forEach(e -> e.contentBlockDelta().flatMap(d -> d.delta().text()).map(TextDelta::text)
                    .ifPresent(text::append));
        }
        assertEquals("Streamed from the cloud", text.toString());
        assertEquals(0, direct.messageCalls());
        assertEquals(2, Tollgate.usage(acct[0]).jsonPath().getList("data.findAll { it.status == 'ok' }").size());
        assertReconciled(acct[0]);
    }

    @Test
    public void theOpenAiSdkWorksByBaseUrlSwap() {
        String[] acct = Tollgate.fundedAccount("10");
        OpenAIClient sdk = OpenAIOkHttpClient.builder().baseUrl(v1.toString()).apiKey(acct[1]).maxRetries(0)
                .timeout(Duration.ofSeconds(20)).build();
        cloud().anthropic().enqueue(Scenario.reply("Hello through chat completions").usage(Usage.of(30, 4)));
        ChatCompletion completion = sdk.chat().completions().create(ChatCompletionCreateParams.builder()
                .model(MODEL).addUserMessage("Say hello").maxCompletionTokens(100).build());
        assertEquals("Hello through chat completions", completion.choices().get(0).message().content().orElseThrow());
        assertEquals(30, completion.usage().orElseThrow().promptTokens());
        assertEquals(0, direct.messageCalls());
        Map<String, Object> record = lastRecord(acct[0]);
        assertEquals(upstreamId, record.get("upstream_id"));
        assertNotNull(record.get("cost_usd"));
        assertReconciled(acct[0]);
    }
}
