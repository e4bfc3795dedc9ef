package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** POST /v1/chat/completions through the real relay, ledger and database, against the fake upstream. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ChatCompletionsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static RequestSpecification openAi(String key) {
        return RestAssured.given().header("Authorization", "Bearer " + key).contentType(ContentType.JSON);
    }

    static String chatBody(String model, String extra) {
        return "{\"model\":\"" + model + "\",\"max_completion_tokens\":300," + extra
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
    }

    @Test
    void nonStreamingCallIsTranslatedBothWaysAndBilled() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Hi there").usage(Usage.of(1000, 200).cacheWrite1h(100).cacheRead(3000)));
        String body = """
                {"model":"claude-sonnet-4-6","max_tokens":300,"temperature":1.5,"stop":"END","user":"u-42",
                 "messages":[
                  {"role":"system","content":"You are terse."},
                  {"role":"user","content":[{"type":"text","text":"Long context","cache_control":{"type":"ephemeral","ttl":"1h"}}]},
                  {"role":"developer","content":"Answer in English."}]}""";
        Response r = openAi(acct[1]).body(body).post("/v1/chat/completions");
        r.then().statusCode(200)
                .contentType(ContentType.JSON)
                .header("request-id", startsWith("req_"))
                .body("object", equalTo("chat.completion"))
                .body("id", startsWith("chatcmpl-msg_"))
                .body("model", equalTo("claude-sonnet-4-6"))
                .body("choices[0].message.role", equalTo("assistant"))
                .body("choices[0].message.content", equalTo("Hi there"))
                .body("choices[0].finish_reason", equalTo("stop"))
                .body("usage.prompt_tokens", equalTo(4100))
                .body("usage.completion_tokens", equalTo(200))
                .body("usage.total_tokens", equalTo(4300))
                .body("usage.prompt_tokens_details.cached_tokens", equalTo(3000));

        JsonNode sent = fake.lastRequest().json();
        assertEquals("/v1/messages", fake.lastRequest().path());
        assertEquals(FakeUpstream.API_KEY, fake.lastRequest().header("x-api-key"));
        assertEquals("2023-06-01", fake.lastRequest().header("anthropic-version"));
        assertEquals("claude-sonnet-4-6", sent.path("model").asText());
        assertEquals("You are terse.\nAnswer in English.", sent.path("system").asText());
        assertEquals(300, sent.path("max_tokens").asInt());
        assertEquals(1.0, sent.path("temperature").asDouble());
        assertEquals("END", sent.path("stop_sequences").path(0).asText());
        assertEquals("u-42", sent.path("metadata").path("user_id").asText());
        assertEquals(1, sent.path("messages").size());
        JsonNode block = sent.path("messages").path(0).path("content").path(0);
        assertEquals("Long context", block.path("text").asText());
        assertEquals("1h", block.path("cache_control").path("ttl").asText());
        assertFalse(sent.has("user"), "OpenAI-only fields never reach the upstream");

        Response usage = Tollgate.usage(acct[0]);
        assertEquals("/v1/chat/completions", usage.path("data[0].endpoint"));
        assertEquals("claude-sonnet-4-6", usage.path("data[0].model"));
        assertEquals(r.header("request-id"), usage.path("data[0].request_id"));
        // 1000 x 3 + 100 x 6 + 3000 x 0.30 + 200 x 15 = 7500 micro-USD
        assertEquals("0.007500000", usage.path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    @Test
    void streamWithoutUsageOptionEndsWithFinishReasonAndDone() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Streaming works fine").usage(Usage.of(50, 3)));
        Response r = openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "\"stream\":true,"))
                .post("/v1/chat/completions");
        r.then().statusCode(200).contentType(startsWith("text/event-stream"));
        assertTrue(r.asString().endsWith("\n\ndata: [DONE]\n\n"), r.asString());

        List<JsonNode> chunks = chunks(r.asString());
        JsonNode first = chunks.get(0);
        assertEquals("assistant", first.path("choices").path(0).path("delta").path("role").asText());
        assertEquals("chat.completion.chunk", first.path("object").asText());
        assertEquals("claude-sonnet-4-6", first.path("model").asText());
        assertEquals("Streaming works fine", text(chunks));
        JsonNode last = chunks.get(chunks.size() - 1);
        assertEquals("stop", last.path("choices").path(0).path("finish_reason").asText());
        for (JsonNode chunk : chunks) {
            assertEquals(first.path("id"), chunk.path("id"), "every chunk has the same id");
            assertFalse(chunk.has("usage"), "no usage field without stream_options.include_usage");
        }
        assertTrue(fake.lastRequest().json().path("stream").asBoolean());

        Response usage = Tollgate.usage(acct[0]);
        assertTrue((Boolean) usage.path("data[0].stream"));
        assertEquals("ok", usage.path("data[0].status"));
        assertEquals("0.000195000", usage.path("data[0].cost_usd")); // 50 x 3 + 3 x 15 micro-USD
        assertReconciled(acct[0]);
    }

    @Test
    void streamWithIncludeUsageSendsAUsageChunkBeforeDone() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Counted reply").usage(Usage.of(70, 2).cacheRead(30)));
        Response r = openAi(acct[1])
                .body(chatBody("claude-sonnet-4-6", "\"stream\":true,\"stream_options\":{\"include_usage\":true},"))
                .post("/v1/chat/completions");
        r.then().statusCode(200);
        assertTrue(r.asString().endsWith("data: [DONE]\n\n"), r.asString());

        List<JsonNode> chunks = chunks(r.asString());
        JsonNode usageChunk = chunks.get(chunks.size() - 1);
        assertEquals(0, usageChunk.path("choices").size());
        assertEquals(100, usageChunk.path("usage").path("prompt_tokens").asInt());
        assertEquals(2, usageChunk.path("usage").path("completion_tokens").asInt());
        assertEquals(102, usageChunk.path("usage").path("total_tokens").asInt());
        assertEquals(30, usageChunk.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt());
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertEquals("stop", finish.path("choices").path(0).path("finish_reason").asText());
        for (JsonNode chunk : chunks.subList(0, chunks.size() - 1)) {
            assertTrue(chunk.get("usage").isNull(), "every other chunk has usage: null");
        }
        assertEquals("Counted reply", text(chunks));
        assertReconciled(acct[0]);
    }

    @Test
    void toolUseStreamBecomesToolCallDeltas() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("").toolUse("toolu_01AbC", "get_weather", "{\"location\":\"Paris\",\"unit\":\"celsius\"}"));
        String body = """
                {"model":"claude-sonnet-4-6","stream":true,
                 "messages":[{"role":"user","content":"Weather in Paris?"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","parameters":
                   {"type":"object","properties":{"location":{"type":"string"}}}}}],
                 "tool_choice":"required"}""";
        Response r = openAi(acct[1]).body(body).post("/v1/chat/completions");
        r.then().statusCode(200);

        JsonNode sent = fake.lastRequest().json();
        assertEquals("get_weather", sent.path("tools").path(0).path("name").asText());
        assertEquals("any", sent.path("tool_choice").path("type").asText());
        assertEquals(64000, sent.path("max_tokens").asInt(), "max_tokens defaults to the model's maximum output");

        List<JsonNode> chunks = chunks(r.asString());
        StringBuilder arguments = new StringBuilder();
        JsonNode opening = null;
        for (JsonNode chunk : chunks) {
            JsonNode call = chunk.path("choices").path(0).path("delta").path("tool_calls").path(0);
            if (call.isMissingNode()) {
                continue;
            }
            assertEquals(0, call.path("index").asInt());
            if (opening == null) {
                opening = call;
            } else {
                assertFalse(call.has("id"), "only the first delta of a call carries its id");
            }
            arguments.append(call.path("function").path("arguments").asText());
        }
        assertTrue(opening != null, "a tool_calls delta was streamed");
        assertEquals("toolu_01AbC", opening.path("id").asText());
        assertEquals("function", opening.path("type").asText());
        assertEquals("get_weather", opening.path("function").path("name").asText());
        assertEquals(JSON.readTree("{\"location\":\"Paris\",\"unit\":\"celsius\"}"), JSON.readTree(arguments.toString()));
        assertEquals("tool_calls", chunks.get(chunks.size() - 1).path("choices").path(0).path("finish_reason").asText());
        assertReconciled(acct[0]);
    }

    @Test
    void badKeyIsRefusedInTheOpenAiEnvelope() {
        openAi("tg-not-a-real-key").body(chatBody("claude-sonnet-4-6", "")).post("/v1/chat/completions")
                .then().statusCode(401)
                .contentType(ContentType.JSON)
                .body("error.type", equalTo("authentication_error"))
                .body("error.code", equalTo("invalid_api_key"))
                .body("error.param", nullValue())
                .body("error.message", org.hamcrest.Matchers.notNullValue());
        assertEquals(0, fake.requests().size());
    }

    @Test
    void emptyAccountGets402AndNothingIsSentUpstream() {
        String[] acct = Tollgate.fundedAccount(null);
        openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "")).post("/v1/chat/completions")
                .then().statusCode(402)
                .body("error.type", equalTo("insufficient_quota"))
                .body("error.code", equalTo("insufficient_quota"));
        assertEquals(0, fake.messageCalls());
        assertEquals(0, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

    @Test
    void unknownModelIs404ModelNotFound() {
        String[] acct = Tollgate.fundedAccount("10");
        openAi(acct[1]).body(chatBody("gpt-4o", "")).post("/v1/chat/completions")
                .then().statusCode(404)
                .body("error.type", equalTo("not_found_error"))
                .body("error.code", equalTo("model_not_found"));
        assertEquals(0, fake.requests().size());
    }

    @Test
    void modelTheKeyMayNotUseIs403() {
        String account = Tollgate.createAccount("restricted " + System.nanoTime());
        Tollgate.topup(account, "10");
        String key = Tollgate.admin().body(Map.of("name", "haiku only", "allowed_models", List.of("claude-haiku-4-5")))
                .post("/admin/v1/accounts/" + account + "/keys").then().statusCode(201).extract().path("key");
        openAi(key).body(chatBody("claude-sonnet-4-6", "")).post("/v1/chat/completions")
                .then().statusCode(403)
                .body("error.type", equalTo("permission_error"))
                .body("error.message", equalTo("This API key may not use model claude-sonnet-4-6"));
        assertEquals(0, fake.requests().size());
    }

    @Test
    void untranslatableRequestIs400NamingTheParam() {
        String[] acct = Tollgate.fundedAccount("10");
        openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "\"n\":2,")).post("/v1/chat/completions")
                .then().statusCode(400)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.param", equalTo("n"));
        openAi(acct[1]).body("{\"model\":").post("/v1/chat/completions")
                .then().statusCode(400)
                .body("error.type", equalTo("invalid_request_error"));
        assertEquals(0, fake.requests().size());
    }

    @Test
    void upstreamRateLimitKeepsStatusAndRetryAfter() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.rateLimited(7));
        openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "")).post("/v1/chat/completions")
                .then().statusCode(429)
                .header("retry-after", "7")
                .body("error.type", equalTo("rate_limit_error"))
                .body("error.code", equalTo("rate_limit_exceeded"))
                .body("error.message", startsWith("The upstream Claude API is rate limiting"));
        Response usage = Tollgate.usage(acct[0]);
        assertEquals("0.000000000", usage.path("data[0].cost_usd"));
        assertEquals(429, (int) usage.path("data[0].http_status"));
        assertReconciled(acct[0]);
    }

    @Test
    void upstreamOverloadKeeps529() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.overloaded());
        openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "")).post("/v1/chat/completions")
                .then().statusCode(529)
                .body("error.type", equalTo("overloaded_error"))
                .body("error.message", equalTo("The upstream Claude API is overloaded; retry later"));
        assertReconciled(acct[0]);
    }

    @Test
    void midStreamErrorBecomesAnOpenAiErrorFrame() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("one two three four five").midStreamError("overloaded_error", "Overloaded", 2));
        Response r = openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "\"stream\":true,"))
                .post("/v1/chat/completions");
        r.then().statusCode(200);
        String body = r.asString();
        assertFalse(body.contains("[DONE]"), body);
        List<JsonNode> chunks = chunks(body);
        JsonNode error = chunks.get(chunks.size() - 1).path("error");
        assertEquals("overloaded_error", error.path("type").asText());
        assertEquals("Overloaded", error.path("message").asText());
        assertEquals("stream_error", Tollgate.usage(acct[0]).path("data[0].status"));
        assertReconciled(acct[0]);
    }

    @Test
    void droppedUpstreamStreamEndsWithAnErrorFrame() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("one two three four five").dropConnectionAfterDeltas(2));
        Response r = openAi(acct[1]).body(chatBody("claude-sonnet-4-6", "\"stream\":true,"))
                .post("/v1/chat/completions");
        List<JsonNode> chunks = chunks(r.asString());
        JsonNode error = chunks.get(chunks.size() - 1).path("error");
        assertEquals("api_error", error.path("type").asText());
        assertTrue(error.path("message").asText().contains("lost mid-stream"));
        assertReconciled(acct[0]);
    }

    @Test
    void streamedChunksAreWrittenAsSoonAsTheirUpstreamEventArrives() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        CountDownLatch release = new CountDownLatch(1);
        fake.enqueue(Scenario.reply("After the pause").pauseAfterMessageStart(release));
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://localhost:" + RestAssured.port + "/v1/chat/completions"))
                .header("Authorization", "Bearer " + acct[1]).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(chatBody("claude-sonnet-4-6", "\"stream\":true,")))
                .build();
        HttpResponse<InputStream> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String first = reader.readLine();
            assertTrue(release.getCount() == 1 && first.startsWith("data: "), first);
            assertEquals("assistant", JSON.readTree(first.substring(6)).path("choices").path(0).path("delta").path("role").asText(),
                    "the role chunk arrives while the upstream is still paused after message_start");
            release.countDown();
            StringBuilder rest = new StringBuilder();
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                rest.append(line).append('\n');
            }
            assertTrue(rest.toString().strip().endsWith("data: [DONE]"), rest.toString());
            assertEquals("After the pause", text(chunks(first + "\n\n" + rest.toString().strip())));
        } finally {
            release.countDown();
        }
        assertReconciled(acct[0]);
    }

    @Test
    void oversizedBodyIs413InTheOpenAiEnvelope() throws Exception {
        try (Socket socket = new Socket("localhost", RestAssured.port)) {
            socket.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 33554433\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
            socket.setSoTimeout(10_000);
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 413"), response);
            JsonNode error = JSON.readTree(response.substring(response.indexOf("\r\n\r\n") + 4)).path("error");
            assertEquals("invalid_request_error", error.path("type").asText());
            assertEquals("request_too_large", error.path("code").asText());
        }
        assertEquals(0, fake.requests().size());
    }

    @Test
    void chatCompletionCostsExactlyWhatTheSameMessagesCallCosts() {
        Usage scripted = Usage.of(1234, 321).cacheWrite5m(400).cacheRead(2000);
        String[] viaMessages = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Same answer").usage(scripted));
        Tollgate.client(viaMessages[1]).body(Tollgate.messageBody("claude-sonnet-4-6", 300, "Hello"))
                .post("/v1/messages").then().statusCode(200);

        String[] viaChat = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Same answer").usage(scripted));
        openAi(viaChat[1]).body(chatBody("claude-sonnet-4-6", "")).post("/v1/chat/completions")
                .then().statusCode(200);

        String[] viaChatStream = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Same answer").usage(scripted));
        openAi(viaChatStream[1]).body(chatBody("claude-sonnet-4-6", "\"stream\":true,")).post("/v1/chat/completions")
                .then().statusCode(200);

        String expected = Tollgate.usage(viaMessages[0]).path("data[0].cost_usd");
        assertTrue(Double.parseDouble(expected) > 0);
        assertEquals(expected, Tollgate.usage(viaChat[0]).path("data[0].cost_usd"));
        assertEquals(expected, Tollgate.usage(viaChatStream[0]).path("data[0].cost_usd"));
        assertEquals(0, Tollgate.balance(viaMessages[0]).compareTo(Tollgate.balance(viaChat[0])));
        assertEquals(0, Tollgate.balance(viaMessages[0]).compareTo(Tollgate.balance(viaChatStream[0])));
        assertReconciled(viaMessages[0]);
        assertReconciled(viaChat[0]);
        assertReconciled(viaChatStream[0]);
    }

    /** The JSON of every {@code data:} frame but the final {@code [DONE]}, which must be last when present. */
    static List<JsonNode> chunks(String sse) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        String[] frames = sse.split("\n\n");
        for (int i = 0; i < frames.length; i++) {
            String frame = frames[i];
            assertTrue(frame.startsWith("data: "), () -> "not a data frame: " + frame);
            assertFalse(frame.contains("\nevent:") || frame.startsWith("event:"), "OpenAI chunks have no event lines");
            String data = frame.substring(6);
            if ("[DONE]".equals(data)) {
                assertEquals(frames.length - 1, i, "[DONE] is the last frame");
                continue;
            }
            out.add(JSON.readTree(data));
        }
        return out;
    }

    static String text(List<JsonNode> chunks) {
        StringBuilder text = new StringBuilder();
        for (JsonNode chunk : chunks) {
            text.append(chunk.path("choices").path(0).path("delta").path("content").asText(""));
        }
        return text.toString();
    }
}
