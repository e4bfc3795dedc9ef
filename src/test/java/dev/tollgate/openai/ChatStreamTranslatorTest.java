package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.tollgate.openai.TestJson.assertJsonEquals;
import static dev.tollgate.openai.TestJson.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatStreamTranslatorTest {

    /** Digest §3.5, verbatim: thinking + text + tool use, with cache hit. */
    static final String DIGEST_3_5 = """
event: message_start
data: {"type":"message_start","message":{"id":"msg_01XkQ7b3Vh2kR8yT5mNpL9aZ","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":2156,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The user wants the current weather in Paris. "}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I should call get_weather with location Paris, France."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds..."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"I'll check the current"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":" weather in Paris for you."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"Par"}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"is, France\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":2156,"output_tokens":87}}

event: message_stop
data: {"type":"message_stop"}
""";

    /** Digest §3.5 "minimal text stream", verbatim doc example. */
    static final String MINIMAL_TEXT = """
event: message_start
data: {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-opus-4-8", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}

event: content_block_start
data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}

event: content_block_delta
data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}

event: content_block_stop
data: {"type": "content_block_stop", "index": 0}

event: message_delta
data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}

event: message_stop
data: {"type": "message_stop"}
""";

    static final long CREATED = 1727000000L;
    static final String MODEL = "claude-sonnet-4-5";

    private static List<String> feed(ChatStreamTranslator t, String transcript) {
        List<String> frames = new ArrayList<>();
        for (TestJson.SseEvent e : TestJson.parseSse(transcript)) {
            frames.addAll(t.onEvent(e.name(), e.data()));
        }
        return frames;
    }

    /** Asserts exact framing and JSON equality of every frame; "[DONE]" is compared literally. */
    private static void assertFrames(List<String> expectedPayloads, List<String> frames) {
        List<String> actualPayloads = new ArrayList<>();
        for (String f : frames) {
            assertTrue(f.startsWith("data: ") && f.endsWith("\n\n"), () -> "bad framing: " + f);
            String payload = f.substring(6, f.length() - 2);
            assertFalse(payload.contains("\n"), () -> "frame must be a single line: " + f);
            actualPayloads.add(payload);
        }
        assertEquals(expectedPayloads.size(), actualPayloads.size(), () -> "frames were:\n" + String.join("\n", actualPayloads));
        for (int i = 0; i < expectedPayloads.size(); i++) {
            String exp = expectedPayloads.get(i);
            if (exp.equals("[DONE]")) {
                assertEquals("[DONE]", actualPayloads.get(i));
            } else {
                assertJsonEquals(json(exp), json(actualPayloads.get(i)));
            }
        }
    }

    private static String chunk(String delta, String finishReason, boolean usageNull) {
        return "{\"id\":\"chatcmpl-msg_01XkQ7b3Vh2kR8yT5mNpL9aZ\",\"object\":\"chat.completion.chunk\",\"created\":1727000000,"
                + "\"model\":\"claude-sonnet-4-5\",\"choices\":[{\"index\":0,\"delta\":" + delta
                + ",\"logprobs\":null,\"finish_reason\":" + (finishReason == null ? "null" : "\"" + finishReason + "\"") + "}]"
                + (usageNull ? ",\"usage\":null" : "") + "}";
    }

    @Test
    void fullToolCallStreamWithUsage() {
        ChatStreamTranslator t = new ChatStreamTranslator(MODEL, CREATED, true);
        List<String> frames = feed(t, DIGEST_3_5);
        assertFrames(List.of(
                chunk("{\"role\":\"assistant\",\"content\":\"\"}", null, true),
                chunk("{\"content\":\"I'll check the current\"}", null, true),
                chunk("{\"content\":\" weather in Paris for you.\"}", null, true),
                chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_01NRLabsLyVHZPKxbKvkfSMn\",\"type\":\"function\","
                        + "\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}", null, true),
                chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"location\\\": \\\"Par\"}}]}", null, true),
                chunk("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"is, France\\\"}\"}}]}", null, true),
                chunk("{}", "tool_calls", true),
                """
                {"id":"chatcmpl-msg_01XkQ7b3Vh2kR8yT5mNpL9aZ","object":"chat.completion.chunk","created":1727000000,
                 "model":"claude-sonnet-4-5","choices":[],
                 "usage":{"prompt_tokens":2198,"completion_tokens":87,"total_tokens":2285,
                          "prompt_tokens_details":{"cached_tokens":2156,"cache_write_tokens":0},
                          "completion_tokens_details":{"reasoning_tokens":0},
                          "cache_creation_input_tokens":0,"cache_read_input_tokens":2156}}""",
                "[DONE]"), frames);
        assertEquals("data: [DONE]\n\n", frames.get(frames.size() - 1));
        assertTrue(t.isFinished());
        assertTrue(t.onEvent("message_stop", json("{\"type\":\"message_stop\"}")).isEmpty(), "nothing after [DONE]");
    }

    @Test
    void includeUsageFalseHasNoUsageChunkAndNoUsageField() {
        ChatStreamTranslator t = new ChatStreamTranslator("claude-opus-4-8", 5L, false);
        List<String> frames = feed(t, MINIMAL_TEXT);
        String id = "chatcmpl-msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY";
        String head = "{\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"claude-opus-4-8\","
                + "\"choices\":[{\"index\":0,\"delta\":";
        assertFrames(List.of(
                head + "{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "{\"content\":\"!\"},\"logprobs\":null,\"finish_reason\":null}]}",
                head + "{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
                "[DONE]"), frames);
    }

    @Test
    void messageDeltaUsageIsCumulativeLastValueWins() {
        ChatStreamTranslator t = new ChatStreamTranslator(MODEL, CREATED, true);
        List<String> frames = new ArrayList<>();
        frames.addAll(t.onEvent("message_start", json("""
                {"type":"message_start","message":{"id":"msg_u","type":"message","role":"assistant","content":[],
                 "usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":0,"output_tokens":1}}}""")));
        frames.addAll(t.onEvent("message_delta", json("""
                {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},
                 "usage":{"input_tokens":10,"cache_creation_input_tokens":300,"cache_read_input_tokens":0,"output_tokens":40}}""")));
        frames.addAll(t.onEvent("message_delta", json("""
                {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},
                 "usage":{"output_tokens":50,"output_tokens_details":{"thinking_tokens":20}}}""")));
        frames.addAll(t.onEvent("message_stop", json("{\"type\":\"message_stop\"}")));
        String usageFrame = frames.get(frames.size() - 2);
        assertJsonEquals("""
                {"id":"chatcmpl-msg_u","object":"chat.completion.chunk","created":1727000000,"model":"claude-sonnet-4-5",
                 "choices":[],
                 "usage":{"prompt_tokens":310,"completion_tokens":50,"total_tokens":360,
                          "prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":300},
                          "completion_tokens_details":{"reasoning_tokens":20},
                          "cache_creation_input_tokens":300,"cache_read_input_tokens":0}}""",
                json(usageFrame.substring(6).strip()));
        assertEquals("length", json(frames.get(1).substring(6).strip()).path("choices").path(0).path("finish_reason").asText());
    }

    @Test
    void secondToolCallGetsIndexOneAndUnknownEventsAreIgnored() {
        ChatStreamTranslator t = new ChatStreamTranslator(MODEL, CREATED, false);
        List<String> frames = new ArrayList<>();
        frames.addAll(t.onEvent("message_start", json("""
                {"type":"message_start","message":{"id":"msg_01XkQ7b3Vh2kR8yT5mNpL9aZ","usage":{"input_tokens":1,"output_tokens":1}}}""")));
        frames.addAll(t.onEvent("content_block_start", json("""
                {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"f","input":{}}}""")));
        frames.addAll(t.onEvent("brand_new_event", json("{\"type\":\"brand_new_event\"}")));
        frames.addAll(t.onEvent("content_block_stop", json("{\"type\":\"content_block_stop\",\"index\":0}")));
        frames.addAll(t.onEvent("content_block_start", json("""
                {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"g","input":{}}}""")));
        frames.addAll(t.onEvent("content_block_delta", json("""
                {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}""")));
        assertFrames(List.of(
                chunk("{\"role\":\"assistant\",\"content\":\"\"}", null, false),
                chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_a\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}", null, false),
                chunk("{\"tool_calls\":[{\"index\":1,\"id\":\"toolu_b\",\"type\":\"function\",\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}", null, false),
                chunk("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}", null, false)), frames);
    }

    @Test
    void midStreamErrorBecomesOpenAiErrorFrameWithoutDone() {
        ChatStreamTranslator t = new ChatStreamTranslator(MODEL, CREATED, true);
        List<String> frames = new ArrayList<>();
        frames.addAll(t.onEvent("message_start", json("""
                {"type":"message_start","message":{"id":"msg_01XkQ7b3Vh2kR8yT5mNpL9aZ","usage":{"input_tokens":1,"output_tokens":1}}}""")));
        frames.addAll(t.onEvent("content_block_delta", json("""
                {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}""")));
        frames.addAll(t.onEvent("error", json("""
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}""")));
        frames.addAll(t.onEvent("message_stop", json("{\"type\":\"message_stop\"}")));
        assertFrames(List.of(
                chunk("{\"role\":\"assistant\",\"content\":\"\"}", null, true),
                chunk("{\"content\":\"Hel\"}", null, true),
                "{\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\",\"param\":null,\"code\":null}}"), frames);
        assertTrue(t.isFinished());
    }

    @Test
    void onUpstreamErrorDirectly() {
        ChatStreamTranslator t = new ChatStreamTranslator(MODEL, CREATED, false);
        List<String> frames = t.onUpstreamError(json("""
                {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"""));
        assertEquals(List.of("data: {\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"param\":null,"
                + "\"code\":\"rate_limit_exceeded\"}}\n\n"), frames);
        assertTrue(t.onUpstreamError(json("{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x\"}}")).isEmpty());
    }

    @Test
    void digestTranscriptParsedAsExpected() {
        List<TestJson.SseEvent> events = TestJson.parseSse(DIGEST_3_5);
        assertEquals(18, events.size());
        JsonNode partial = events.get(13).data();
        assertEquals("{\"location\": \"Par", partial.path("delta").path("partial_json").asText());
    }
}
