package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Self-test of {@link FakeUpstream}: proves the wire format against digest §2–§6 with a plain JDK client. */
class FakeUpstreamTest {

    static final ObjectMapper M = new ObjectMapper();
    static final Pattern REQUEST_ID = Pattern.compile("req_[0-9A-Za-z]{24}");
    static final Pattern UUID = Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    static final Pattern MSG_ID = Pattern.compile("msg_[0-9A-Za-z]{24}");
    static final Pattern TOOLU_ID = Pattern.compile("toolu_[0-9A-Za-z]{24}");

    static FakeUpstream fake;
    static HttpClient http;

    @BeforeAll
    static void startFake() {
        fake = FakeUpstream.start();
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stopFake() {
        fake.close();
    }

    @BeforeEach
    void resetFake() {
        fake.reset();
    }

    // ------------------------------------------------------------------ helpers

    static String body(String model, int maxTokens, boolean stream) {
        return "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens + (stream ? ",\"stream\":true" : "")
                + ",\"system\":[{\"type\":\"text\",\"text\":\"You are a terse assistant.\",\"cache_control\":{\"type\":\"ephemeral\"}}]"
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France? Answer briefly.\"},"
                + "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Paris.\"}]},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And of Italy?\"}]}]}";
    }

    static HttpRequest.Builder req(String pathAndQuery, String json) {
        return HttpRequest.newBuilder(URI.create(fake.baseUrl() + pathAndQuery))
                .timeout(Duration.ofSeconds(20))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json));
    }

    static HttpRequest.Builder authed(String pathAndQuery, String json) {
        return req(pathAndQuery, json).header("x-api-key", FakeUpstream.API_KEY).header("anthropic-version", "2023-06-01");
    }

    static HttpResponse<String> send(HttpRequest.Builder b) throws IOException, InterruptedException {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return M.readTree(r.body());
    }

    record Ev(String event, String rawData, JsonNode data) { }

    /** Strict SSE parse: every event block is exactly "event: X" + "data: Y", blocks separated by a blank line. */
    static List<Ev> parseSse(String body) throws IOException {
        assertTrue(body.endsWith("\n\n"), "stream must end with a blank line: " + body);
        List<Ev> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            String[] lines = block.split("\n");
            assertEquals(2, lines.length, "event block must have event and data lines: " + block);
            assertTrue(lines[0].startsWith("event: "), block);
            assertTrue(lines[1].startsWith("data: "), block);
            String raw = lines[1].substring("data: ".length());
            out.add(new Ev(lines[0].substring("event: ".length()), raw, M.readTree(raw)));
        }
        return out;
    }

    static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static void assertErrorEnvelope(HttpResponse<String> r, int status, String type, String message) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(null));
        String rid = r.headers().firstValue("request-id").orElseThrow();
        assertTrue(REQUEST_ID.matcher(rid).matches(), rid);
        assertTrue(UUID.matcher(r.headers().firstValue("anthropic-organization-id").orElse("")).matches());
        JsonNode j = json(r);
        assertEquals(List.of("type", "error", "request_id"), fieldNames(j));
        assertEquals("error", j.get("type").asText());
        assertEquals(List.of("type", "message"), fieldNames(j.get("error")));
        assertEquals(type, j.at("/error/type").asText());
        if (message != null) assertEquals(message, j.at("/error/message").asText());
        assertEquals(rid, j.get("request_id").asText(), "request_id in body must equal request-id header");
    }

    // ------------------------------------------------------------------ non-streaming

    @Test
    void nonStreamingDefaultReplyHasExactMessageShape() throws Exception {
        String body = body("claude-sonnet-4-5", 1024, false);
        HttpResponse<String> r = send(authed("/v1/messages", body));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(null));
        assertTrue(REQUEST_ID.matcher(r.headers().firstValue("request-id").orElse("")).matches());
        assertEquals(FakeUpstream.ORGANIZATION_ID, r.headers().firstValue("anthropic-organization-id").orElse(null));

        JsonNode m = json(r);
        assertEquals(List.of("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"), fieldNames(m));
        assertTrue(MSG_ID.matcher(m.get("id").asText()).matches(), m.get("id").asText());
        assertEquals("message", m.get("type").asText());
        assertEquals("assistant", m.get("role").asText());
        assertEquals("claude-sonnet-4-5-20250929", m.get("model").asText(), "alias resolves to dated id");
        assertTrue(m.get("content").isArray());
        assertEquals(1, m.get("content").size());
        JsonNode block = m.get("content").get(0);
        assertEquals(List.of("type", "text"), fieldNames(block));
        assertEquals("text", block.get("type").asText());
        assertEquals(FakeUpstream.DEFAULT_REPLY, block.get("text").asText());
        assertEquals("end_turn", m.get("stop_reason").asText());
        assertTrue(m.get("stop_sequence").isNull());

        JsonNode u = m.get("usage");
        assertEquals(List.of("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation",
                "output_tokens", "service_tier"), fieldNames(u));
        for (String f : List.of("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")) {
            assertTrue(u.get(f).isInt(), f + " must be an int");
        }
        assertEquals(List.of("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"), fieldNames(u.get("cache_creation")));
        assertEquals(0, u.get("cache_creation_input_tokens").asInt());
        assertEquals(0, u.get("cache_read_input_tokens").asInt());
        assertEquals("standard", u.get("service_tier").asText());
        int input = u.get("input_tokens").asInt();
        assertEquals(FakeUpstream.countInputTokens(M.readTree(body)), input);
        assertTrue(input > 5 && input <= body.getBytes(StandardCharsets.UTF_8).length);
        assertEquals(FakeUpstream.DEFAULT_REPLY.split("\\s+").length, u.get("output_tokens").asInt());
    }

    @Test
    void countTokensEqualsDefaultUsageInputTokens() throws Exception {
        String msgBody = body("claude-haiku-4-5", 1024, false);
        int usageInput = json(send(authed("/v1/messages", msgBody))).at("/usage/input_tokens").asInt();

        JsonNode asCount = M.readTree(msgBody);
        ((com.fasterxml.jackson.databind.node.ObjectNode) asCount).remove("max_tokens");
        HttpResponse<String> r = send(authed("/v1/messages/count_tokens", asCount.toString()));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("content-type").orElse(null));
        assertTrue(REQUEST_ID.matcher(r.headers().firstValue("request-id").orElse("")).matches());
        JsonNode j = json(r);
        assertEquals(List.of("input_tokens"), fieldNames(j));
        assertEquals(usageInput, j.get("input_tokens").asInt());
        assertEquals(1, fake.countTokensCalls());
        assertEquals(1, fake.messageCalls());

        // more text => more tokens (the count is not a constant)
        String longer = msgBody.replace("And of Italy?", "And of Italy? And of Spain, Portugal, Germany and Greece?");
        HttpResponse<String> r2 = send(authed("/v1/messages/count_tokens", longer));
        assertTrue(json(r2).get("input_tokens").asInt() > usageInput);
    }

    @Test
    void hostedDocumentsAreCountedByCountTokensAndUsageAndUnknownOnesRefused() throws Exception {
        String prompt = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"Summarise.\"},";
        String byFile = prompt + "{\"type\":\"document\",\"source\":{\"type\":\"file\",\"file_id\":\"file_011big\"}}]}]}";
        String byUrl = prompt + "{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/a.pdf\"}}]}]}";
        int withoutDocument = FakeUpstream.countInputTokens(M.readTree(byFile));
        fake.hostDocument("file_011big", 300_000);
        fake.hostDocument("https://example.com/a.pdf", 50_000);

        assertEquals(withoutDocument + 300_000, json(send(authed("/v1/messages/count_tokens", byFile))).get("input_tokens").asInt());
        assertEquals(withoutDocument + 300_000, json(send(authed("/v1/messages", byFile))).at("/usage/input_tokens").asInt());
        assertEquals(withoutDocument + 50_000, json(send(authed("/v1/messages", byUrl))).at("/usage/input_tokens").asInt());

        HttpResponse<String> missingFile = send(authed("/v1/messages", byFile.replace("file_011big", "file_011gone")));
        assertEquals(404, missingFile.statusCode());
        assertEquals("File not found: file_011gone", json(missingFile).at("/error/message").asText());
        assertEquals(400, send(authed("/v1/messages/count_tokens", byUrl.replace("a.pdf", "b.pdf"))).statusCode());
    }

    @Test
    void countInputTokensFormulaAndUpperBound() throws Exception {
        // chars: system 8 + "hello" 5 + tool_result "abcd" 4 + tool JSON
        String tool = "{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}";
        String req = "{\"model\":\"claude-opus-4-6\",\"system\":\"12345678\",\"tools\":[" + tool + "],\"messages\":["
                + "{\"role\":\"user\",\"content\":\"hello\"},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_x\",\"content\":\"abcd\"}]}]}";
        int chars = 8 + 5 + 4 + tool.length();
        assertEquals((chars + 3) / 4 + 3 * 2 + 5, FakeUpstream.countInputTokens(M.readTree(req)));
        String minimal = "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}";
        assertTrue(FakeUpstream.countInputTokens(M.readTree(minimal)) <= minimal.length());
        String unicode = "{\"model\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"ééé😀😀 漢字\"}]}";
        assertTrue(FakeUpstream.countInputTokens(M.readTree(unicode)) <= unicode.getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void defaultReplyIsTruncatedToMaxTokens() throws Exception {
        JsonNode m = json(send(authed("/v1/messages", body("claude-opus-4-6", 3, false))));
        assertEquals("max_tokens", m.get("stop_reason").asText());
        assertEquals("Hello! This is", m.at("/content/0/text").asText());
        assertEquals(3, m.at("/usage/output_tokens").asInt());
        assertEquals("claude-opus-4-6", m.get("model").asText());

        JsonNode zero = json(send(authed("/v1/messages", body("claude-opus-4-6", 0, false))));
        assertEquals("max_tokens", zero.get("stop_reason").asText());
        assertEquals(0, zero.get("content").size());
        assertEquals(0, zero.at("/usage/output_tokens").asInt());
        assertTrue(zero.at("/usage/input_tokens").asInt() > 0);
    }

    @Test
    void scenarioUsageOverrideAndShapesVariants() throws Exception {
        fake.enqueue(Scenario.reply("Hello there friend")
                .usage(Usage.of(12, 40).cacheWrite5m(148).cacheWrite1h(100).cacheRead(1800).webSearchRequests(2))
                .model("claude-sonnet-4-5-20250929"));
        JsonNode u = json(send(authed("/v1/messages?beta=true", body("claude-sonnet-4-5", 1024, false)))).get("usage");
        assertEquals(12, u.get("input_tokens").asInt());
        assertEquals(248, u.get("cache_creation_input_tokens").asInt());
        assertEquals(148, u.at("/cache_creation/ephemeral_5m_input_tokens").asInt());
        assertEquals(100, u.at("/cache_creation/ephemeral_1h_input_tokens").asInt());
        assertEquals(1800, u.get("cache_read_input_tokens").asInt());
        assertEquals(40, u.get("output_tokens").asInt());
        assertEquals(2, u.at("/server_tool_use/web_search_requests").asInt());

        fake.enqueue(Scenario.reply("Hi").usage(Usage.of(5, 1).cacheWrite1h(30)).omitCacheCreationBreakdown());
        JsonNode u2 = json(send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, false)))).get("usage");
        assertFalse(u2.has("cache_creation"));
        assertEquals(30, u2.get("cache_creation_input_tokens").asInt());
        assertFalse(u2.has("server_tool_use"));

        fake.enqueue(Scenario.reply("Hi there").legacyUsage().stopReason("stop_sequence"));
        JsonNode m3 = json(send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, false))));
        assertEquals(List.of("input_tokens", "output_tokens"), fieldNames(m3.get("usage")));
        assertEquals(2, m3.at("/usage/output_tokens").asInt(), "output tokens = word count");

        // queue drained: default behaviour again
        JsonNode m4 = json(send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, false))));
        assertEquals(FakeUpstream.DEFAULT_REPLY, m4.at("/content/0/text").asText());
        assertEquals(4, fake.messageCalls());
        assertEquals("/v1/messages?beta=true", fake.requests().get(0).pathAndQuery());
    }

    @Test
    void nonStreamingToolUseAndThinking() throws Exception {
        fake.enqueue(Scenario.reply("I'll check.").thinking("Let me think about Paris.")
                .toolUse("get_weather", "{\"location\":\"Paris\"}"));
        JsonNode m = json(send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, false))));
        JsonNode c = m.get("content");
        assertEquals(3, c.size());
        assertEquals(List.of("type", "thinking", "signature"), fieldNames(c.get(0)));
        assertEquals("Let me think about Paris.", c.get(0).get("thinking").asText());
        assertFalse(c.get(0).get("signature").asText().isEmpty());
        assertEquals("text", c.get(1).get("type").asText());
        assertEquals(List.of("type", "id", "name", "input"), fieldNames(c.get(2)));
        assertTrue(TOOLU_ID.matcher(c.get(2).get("id").asText()).matches());
        assertEquals("Paris", c.get(2).at("/input/location").asText());
        assertEquals("tool_use", m.get("stop_reason").asText());
    }

    @Test
    void newerFieldsKnobAddsThe2026Fields() throws Exception {
        fake.enqueue(Scenario.reply("Hi").newerFields());
        JsonNode m = json(send(authed("/v1/messages", body("claude-opus-4-6", 100, false))));
        assertEquals(List.of("id", "type", "role", "model", "content", "container", "stop_reason", "stop_sequence",
                "stop_details", "usage"), fieldNames(m));
        assertEquals("global", m.at("/usage/inference_geo").asText());
        fake.enqueue(Scenario.reply("Hi").newerFields());
        List<Ev> evs = parseSse(send(authed("/v1/messages", body("claude-opus-4-6", 100, true))).body());
        assertEquals("global", evs.get(0).data().at("/message/usage/inference_geo").asText());
        JsonNode md = evs.get(evs.size() - 2).data();
        assertEquals(List.of("stop_reason", "stop_sequence", "stop_details"), fieldNames(md.get("delta")));
        assertFalse(md.get("usage").has("inference_geo"));
    }

    /** usage reports where inference ran and, for a request that set speed, the speed it ran at (§2.3). */
    @Test
    void usageReportsTheModifiersApplied() throws Exception {
        String asked = body("claude-opus-4-6", 100, false).replaceFirst("\\{", "{\"inference_geo\":\"us\",\"speed\":\"fast\",");
        JsonNode m = json(send(authed("/v1/messages", asked)));
        assertEquals("us", m.at("/usage/inference_geo").asText());
        assertEquals("fast", m.at("/usage/speed").asText());
        fake.enqueue(Scenario.reply("Hi").appliedSpeed("standard"));
        List<Ev> evs = parseSse(send(authed("/v1/messages", asked.replace("\"max_tokens\"", "\"stream\":true,\"max_tokens\""))).body());
        assertEquals("standard", evs.get(0).data().at("/message/usage/speed").asText());
        JsonNode plain = json(send(authed("/v1/messages", body("claude-opus-4-6", 100, false))));
        assertFalse(plain.get("usage").has("speed") || plain.get("usage").has("inference_geo"));
    }

    // ------------------------------------------------------------------ streaming

    @Test
    void streamFollowsEventGrammar() throws Exception {
        fake.enqueue(Scenario.reply("The capital of Italy is Rome.").usage(Usage.computed().cacheRead(2156).cacheWrite5m(10)));
        HttpResponse<String> r = send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, true)));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("text/event-stream; charset=utf-8", r.headers().firstValue("content-type").orElse(null));
        assertTrue(REQUEST_ID.matcher(r.headers().firstValue("request-id").orElse("")).matches());
        assertFalse(r.body().contains("[DONE]"));
        List<Ev> evs = parseSse(r.body());
        for (Ev e : evs) assertEquals(e.event(), e.data().get("type").asText(), "type must equal event name");

        List<String> names = evs.stream().map(Ev::event).toList();
        assertEquals("message_start", names.get(0));
        assertEquals("content_block_start", names.get(1));
        assertEquals("ping", names.get(2));
        int nDeltas = names.size() - 6;
        assertEquals(6, nDeltas, "one delta per word: " + names);
        for (int i = 3; i < 3 + nDeltas; i++) assertEquals("content_block_delta", names.get(i));
        assertEquals(List.of("content_block_stop", "message_delta", "message_stop"), names.subList(names.size() - 3, names.size()));

        JsonNode msg = evs.get(0).data().get("message");
        assertEquals(List.of("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"), fieldNames(msg));
        assertTrue(MSG_ID.matcher(msg.get("id").asText()).matches());
        assertEquals("claude-sonnet-4-5-20250929", msg.get("model").asText());
        assertEquals(0, msg.get("content").size());
        assertTrue(msg.get("stop_reason").isNull());
        JsonNode startUsage = msg.get("usage");
        assertEquals(List.of("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation",
                "output_tokens", "service_tier"), fieldNames(startUsage));
        assertEquals(1, startUsage.get("output_tokens").asInt(), "placeholder");
        assertEquals(FakeUpstream.countInputTokens(M.readTree(body("claude-sonnet-4-5", 1024, true))),
                startUsage.get("input_tokens").asInt());

        JsonNode cbs = evs.get(1).data();
        assertEquals(0, cbs.get("index").asInt());
        assertEquals(M.readTree("{\"type\":\"text\",\"text\":\"\"}"), cbs.get("content_block"));

        StringBuilder text = new StringBuilder();
        for (int i = 3; i < 3 + nDeltas; i++) {
            JsonNode d = evs.get(i).data();
            assertEquals(0, d.get("index").asInt());
            assertEquals("text_delta", d.at("/delta/type").asText());
            text.append(d.at("/delta/text").asText());
        }
        assertEquals("The capital of Italy is Rome.", text.toString());

        Ev stop = evs.get(names.size() - 3);
        assertTrue(stop.rawData().matches("\\{\"type\":\"content_block_stop\",\"index\":0 +}"), "padded: " + stop.rawData());

        JsonNode md = evs.get(names.size() - 2).data();
        assertEquals("end_turn", md.at("/delta/stop_reason").asText());
        assertTrue(md.at("/delta/stop_sequence").isNull());
        JsonNode du = md.get("usage");
        assertEquals(List.of("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"), fieldNames(du));
        assertEquals(startUsage.get("input_tokens"), du.get("input_tokens"));
        assertEquals(10, du.get("cache_creation_input_tokens").asInt());
        assertEquals(2156, du.get("cache_read_input_tokens").asInt());
        assertEquals(6, du.get("output_tokens").asInt(), "final cumulative output tokens");
        assertEquals(M.readTree("{\"type\":\"message_stop\"}"), evs.get(names.size() - 1).data());
    }

    @Test
    void streamWithThinkingAndToolUse() throws Exception {
        fake.enqueue(Scenario.reply("I'll check the weather.").thinking("The user wants weather.")
                .toolUse("toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather", "{\"location\":\"Paris, France\"}")
                .usage(Usage.computed().webSearchRequests(1)).legacyUsage());
        List<Ev> evs = parseSse(send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, true))).body());
        List<String> names = evs.stream().map(Ev::event).toList();
        assertEquals(1, names.stream().filter("ping"::equals).count());
        assertEquals(3, names.stream().filter("content_block_start"::equals).count());
        assertEquals(3, names.stream().filter("content_block_stop"::equals).count());

        // thinking block: thinking deltas then exactly one signature_delta just before its stop
        assertEquals("thinking", evs.get(1).data().at("/content_block/type").asText());
        assertEquals("", evs.get(1).data().at("/content_block/signature").asText());
        int firstStop = names.indexOf("content_block_stop");
        assertEquals("signature_delta", evs.get(firstStop - 1).data().at("/delta/type").asText());
        for (int i = 3; i < firstStop - 1; i++) assertEquals("thinking_delta", evs.get(i).data().at("/delta/type").asText());

        // tool block: initial input {}, first fragment "", fragments concatenate to the input object
        int toolStart = names.lastIndexOf("content_block_start");
        JsonNode cb = evs.get(toolStart).data();
        assertEquals(2, cb.get("index").asInt());
        assertEquals(M.readTree("{\"type\":\"tool_use\",\"id\":\"toolu_01NRLabsLyVHZPKxbKvkfSMn\",\"name\":\"get_weather\",\"input\":{}}"),
                cb.get("content_block"));
        StringBuilder partial = new StringBuilder();
        int k = toolStart + 1;
        assertEquals("", evs.get(k).data().at("/delta/partial_json").asText());
        for (; names.get(k).equals("content_block_delta"); k++) {
            assertEquals("input_json_delta", evs.get(k).data().at("/delta/type").asText());
            assertEquals(2, evs.get(k).data().get("index").asInt());
            partial.append(evs.get(k).data().at("/delta/partial_json").asText());
        }
        assertTrue(k - toolStart > 2, "input streamed in several fragments");
        assertEquals(M.readTree("{\"location\":\"Paris, France\"}"), M.readTree(partial.toString()));

        JsonNode md = evs.get(names.indexOf("message_delta")).data();
        assertEquals("tool_use", md.at("/delta/stop_reason").asText());
        assertEquals(List.of("output_tokens"), fieldNames(md.get("usage")), "legacy usage in message_delta");
        assertEquals(List.of("input_tokens", "output_tokens"), fieldNames(evs.get(0).data().at("/message/usage")));
    }

    @Test
    void streamServerToolUseIsCumulativeInMessageDelta() throws Exception {
        fake.enqueue(Scenario.reply("Found it.").usage(Usage.of(10682, 510).webSearchRequests(1)).omitCacheCreationBreakdown());
        List<Ev> evs = parseSse(send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, true))).body());
        JsonNode start = evs.get(0).data().at("/message/usage");
        assertFalse(start.has("cache_creation"));
        JsonNode du = evs.get(evs.size() - 2).data().get("usage");
        assertEquals(M.readTree("{\"input_tokens\":10682,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
                + "\"output_tokens\":510,\"server_tool_use\":{\"web_search_requests\":1}}"), du);
    }

    @Test
    void midStreamErrorEndsWithErrorEventAndNoMessageStop() throws Exception {
        fake.enqueue(Scenario.reply("one two three four five six").midStreamError("overloaded_error", "Overloaded", 2));
        HttpResponse<String> r = send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, true)));
        assertEquals(200, r.statusCode());
        assertEquals("close", r.headers().firstValue("connection").orElse(null));
        List<Ev> evs = parseSse(r.body());
        List<String> names = evs.stream().map(Ev::event).toList();
        assertEquals(List.of("message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "error"), names);
        assertEquals(M.readTree("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"),
                evs.get(5).data());
        assertFalse(names.contains("message_stop"));
        assertFalse(names.contains("message_delta"));
    }

    @Test
    void dropConnectionMidStreamFailsTheClient() {
        fake.enqueue(Scenario.reply("one two three four five six").dropConnectionAfterDeltas(1));
        assertThrows(IOException.class, () -> send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, true))));
    }

    @Test
    void pauseAfterMessageStartDeliversFirstEventBeforeRelease() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        fake.enqueue(Scenario.reply("alpha beta gamma").pauseAfterMessageStart(release));
        CompletableFuture<HttpResponse<Stream<String>>> f = http.sendAsync(
                authed("/v1/messages", body("claude-sonnet-4-5", 1024, true)).build(), HttpResponse.BodyHandlers.ofLines());
        HttpResponse<Stream<String>> r = f.get(10, TimeUnit.SECONDS); // headers arrive before release
        assertEquals(200, r.statusCode());
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            Iterator<String> it = r.body().iterator();
            while (it.hasNext()) lines.add(it.next());
            lines.add("<EOF>");
        });
        assertEquals("event: message_start", lines.poll(10, TimeUnit.SECONDS));
        String data = lines.poll(10, TimeUnit.SECONDS);
        assertNotNull(data);
        assertTrue(data.startsWith("data: {\"type\":\"message_start\""), data);
        assertEquals(1, release.getCount(), "latch not yet released");
        assertEquals("", lines.poll(5, TimeUnit.SECONDS));
        assertNull(lines.poll(400, TimeUnit.MILLISECONDS), "nothing after message_start before the latch is released");

        release.countDown();
        List<String> rest = new ArrayList<>();
        for (String l; !(l = lines.poll(10, TimeUnit.SECONDS)).equals("<EOF>"); ) rest.add(l);
        assertEquals("event: content_block_start", rest.get(0));
        assertEquals("event: message_stop", rest.get(rest.size() - 3));
        reader.join(5000);
    }

    @Test
    void deltaDelaySpacesOutDeltas() throws Exception {
        fake.enqueue(Scenario.reply("a b c d").deltaDelay(Duration.ofMillis(150)));
        HttpResponse<Stream<String>> r = http.send(authed("/v1/messages", body("claude-sonnet-4-5", 1024, true)).build(),
                HttpResponse.BodyHandlers.ofLines());
        List<Long> deltaTimes = new ArrayList<>();
        r.body().forEach(l -> {
            if (l.equals("event: content_block_delta")) deltaTimes.add(System.nanoTime());
        });
        assertEquals(4, deltaTimes.size());
        for (int i = 1; i < deltaTimes.size(); i++) {
            long gapMs = (deltaTimes.get(i) - deltaTimes.get(i - 1)) / 1_000_000;
            assertTrue(gapMs >= 100, "deltas must arrive spaced out, gap was " + gapMs + "ms");
        }
    }

    // ------------------------------------------------------------------ errors and auth

    @Test
    void authenticationErrors() throws Exception {
        String b = body("claude-sonnet-4-5", 10, false);
        assertErrorEnvelope(send(req("/v1/messages", b).header("anthropic-version", "2023-06-01")),
                401, "authentication_error", "invalid x-api-key");
        assertErrorEnvelope(send(req("/v1/messages", b).header("anthropic-version", "2023-06-01").header("x-api-key", "sk-ant-wrong")),
                401, "authentication_error", "invalid x-api-key");
        assertErrorEnvelope(send(req("/v1/messages/count_tokens", b).header("anthropic-version", "2023-06-01")),
                401, "authentication_error", "invalid x-api-key");
        HttpResponse<String> bearer = send(req("/v1/messages", b).header("anthropic-version", "2026-10-21")
                .header("authorization", "Bearer " + FakeUpstream.API_KEY).header("x-stainless-retry-count", "0"));
        assertEquals(200, bearer.statusCode(), bearer.body());
        assertEquals("bearer " + FakeUpstream.API_KEY, fake.lastRequest().headers().get("authorization").toLowerCase());
    }

    @Test
    void validationErrors() throws Exception {
        assertErrorEnvelope(send(req("/v1/messages", body("claude-sonnet-4-5", 10, false)).header("x-api-key", FakeUpstream.API_KEY)),
                400, "invalid_request_error", "anthropic-version: header is required");
        assertErrorEnvelope(send(authed("/v1/messages", "{\"model\":\"claude-sonnet-4-5\",\"messages\":[]}")),
                400, "invalid_request_error", "max_tokens: Field required");
        assertErrorEnvelope(send(authed("/v1/messages", "{\"max_tokens\":5,\"messages\":[]}")),
                400, "invalid_request_error", "model: Field required");
        assertErrorEnvelope(send(authed("/v1/messages", "{\"model\":\"claude-sonnet-4-5\",")), 400, "invalid_request_error", null);
        assertErrorEnvelope(send(authed("/v1/messages", body("claude-typo", 10, false))), 404, "not_found_error", "model: claude-typo");
        assertErrorEnvelope(send(authed("/v1/messages/count_tokens", body("claude-typo", 10, false))), 404, "not_found_error", "model: claude-typo");
        assertErrorEnvelope(send(authed("/v1/nope", "{}")), 404, "not_found_error", null);
        assertEquals(0, fake.pendingScenarios());
    }

    @Test
    void scenarioErrorsUseRealStatusEnvelopeAndHeaders() throws Exception {
        fake.enqueue(Scenario.error(429, "rate_limit_error", "This request would exceed the rate limit").header("retry-after", "7"));
        fake.enqueue(Scenario.overloaded());
        HttpResponse<String> r429 = send(authed("/v1/messages", body("claude-sonnet-4-5", 10, true)));
        assertErrorEnvelope(r429, 429, "rate_limit_error", "This request would exceed the rate limit");
        assertEquals("7", r429.headers().firstValue("retry-after").orElse(null));
        HttpResponse<String> r529 = send(authed("/v1/messages", body("claude-sonnet-4-5", 10, false)));
        assertErrorEnvelope(r529, 529, "overloaded_error", "Overloaded");
        assertEquals(200, send(authed("/v1/messages", body("claude-sonnet-4-5", 10, false))).statusCode());
    }

    @Test
    void hangUpAndDelayBeforeHeaders() throws Exception {
        fake.enqueue(Scenario.hangUp());
        assertThrows(IOException.class, () -> send(authed("/v1/messages", body("claude-sonnet-4-5", 10, false))));
        assertEquals(1, fake.messageCalls());

        fake.enqueue(Scenario.delayBeforeHeaders(Duration.ofMillis(1500)));
        assertThrows(HttpTimeoutException.class,
                () -> send(authed("/v1/messages", body("claude-sonnet-4-5", 10, false)).timeout(Duration.ofMillis(300))));
        fake.enqueue(Scenario.delayBeforeHeaders(Duration.ofMillis(300)));
        long t0 = System.nanoTime();
        assertEquals(200, send(authed("/v1/messages", body("claude-sonnet-4-5", 10, false))).statusCode());
        assertTrue((System.nanoTime() - t0) / 1_000_000 >= 250);
    }

    @Test
    void recordsRequestsAndHandlesConcurrency() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            fs.add(http.sendAsync(authed("/v1/messages", body("claude-sonnet-4-5", 100, i % 2 == 0)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : fs) {
            HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("deterministic"));
        }
        assertEquals(60, fake.messageCalls());
        List<RecordedRequest> reqs = fake.requests();
        assertEquals(60, reqs.size());
        RecordedRequest first = reqs.get(0);
        assertEquals("POST", first.method());
        assertEquals(FakeUpstream.API_KEY, first.headers().get("x-api-key"));
        assertEquals("2023-06-01", first.headers().get("anthropic-version"));
        assertEquals("claude-sonnet-4-5", first.json().get("model").asText());
        fake.reset();
        assertEquals(0, fake.requests().size());
        assertEquals(0, fake.messageCalls());
    }
}
