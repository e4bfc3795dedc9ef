package dev.tollgate.openai;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static dev.tollgate.openai.TestJson.assertJsonEquals;
import static dev.tollgate.openai.TestJson.json;
import static org.junit.jupiter.api.Assertions.assertEquals;

class ChatResponseTranslatorTest {

    static Stream<Arguments> responses() {
        return Stream.of(
                Arguments.of("plain text, end_turn, legacy usage", """
                        {"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
                         "content":[{"type":"text","text":"Hi! My name is Claude."}],
                         "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"output_tokens":503}}""", """
                        {"id":"chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF","object":"chat.completion","created":1727000000,
                         "model":"claude-sonnet-4-5",
                         "choices":[{"index":0,"message":{"role":"assistant","content":"Hi! My name is Claude.","refusal":null},
                                     "logprobs":null,"finish_reason":"stop"}],
                         "usage":{"prompt_tokens":2095,"completion_tokens":503,"total_tokens":2598,
                                  "prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},
                                  "completion_tokens_details":{"reasoning_tokens":0},
                                  "cache_creation_input_tokens":0,"cache_read_input_tokens":0}}"""),

                Arguments.of("thinking + text + tool_use with cache hit (digest 3.5 final message)", """
                        {"id":"msg_01XkQ7b3Vh2kR8yT5mNpL9aZ","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
                         "content":[
                          {"type":"thinking","thinking":"The user wants the weather.","signature":"EqQB..."},
                          {"type":"text","text":"I'll check the current weather in Paris for you."},
                          {"type":"tool_use","id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","name":"get_weather","input":{"location":"Paris, France"}}],
                         "stop_reason":"tool_use","stop_sequence":null,
                         "usage":{"input_tokens":42,"cache_creation_input_tokens":0,"cache_read_input_tokens":2156,
                                  "cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},
                                  "output_tokens":87,"service_tier":"standard"}}""", """
                        {"id":"chatcmpl-msg_01XkQ7b3Vh2kR8yT5mNpL9aZ","object":"chat.completion","created":1727000000,
                         "model":"claude-sonnet-4-5",
                         "choices":[{"index":0,"message":{"role":"assistant",
                            "content":"I'll check the current weather in Paris for you.","refusal":null,
                            "tool_calls":[{"id":"toolu_01NRLabsLyVHZPKxbKvkfSMn","type":"function",
                              "function":{"name":"get_weather","arguments":"{\\"location\\":\\"Paris, France\\"}"}}]},
                           "logprobs":null,"finish_reason":"tool_calls"}],
                         "usage":{"prompt_tokens":2198,"completion_tokens":87,"total_tokens":2285,
                                  "prompt_tokens_details":{"cached_tokens":2156,"cache_write_tokens":0},
                                  "completion_tokens_details":{"reasoning_tokens":0},
                                  "cache_creation_input_tokens":0,"cache_read_input_tokens":2156}}"""),

                Arguments.of("tool calls only: content null; multiple text blocks joined", """
                        {"id":"msg_2","type":"message","role":"assistant","model":"x",
                         "content":[
                          {"type":"tool_use","id":"toolu_a","name":"f","input":{}},
                          {"type":"tool_use","id":"toolu_b","name":"g","input":{"n":[1,2]}}],
                         "stop_reason":"tool_use","stop_sequence":null,
                         "usage":{"input_tokens":10,"cache_creation_input_tokens":248,"cache_read_input_tokens":1800,
                                  "output_tokens":503,"output_tokens_details":{"thinking_tokens":120}}}""", """
                        {"id":"chatcmpl-msg_2","object":"chat.completion","created":1727000000,"model":"claude-sonnet-4-5",
                         "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
                            "tool_calls":[
                              {"id":"toolu_a","type":"function","function":{"name":"f","arguments":"{}"}},
                              {"id":"toolu_b","type":"function","function":{"name":"g","arguments":"{\\"n\\":[1,2]}"}}]},
                           "logprobs":null,"finish_reason":"tool_calls"}],
                         "usage":{"prompt_tokens":2058,"completion_tokens":503,"total_tokens":2561,
                                  "prompt_tokens_details":{"cached_tokens":1800,"cache_write_tokens":248},
                                  "completion_tokens_details":{"reasoning_tokens":120},
                                  "cache_creation_input_tokens":248,"cache_read_input_tokens":1800}}"""),

                Arguments.of("empty content (max_tokens pre-warm), null cache fields count as 0", """
                        {"model":"claude-opus-4-6","id":"msg_011Cf4","type":"message","role":"assistant","content":[],"container":null,
                         "stop_reason":"max_tokens","stop_sequence":null,"stop_details":null,
                         "usage":{"input_tokens":8,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":1}}""", """
                        {"id":"chatcmpl-msg_011Cf4","object":"chat.completion","created":1727000000,"model":"claude-sonnet-4-5",
                         "choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},
                           "logprobs":null,"finish_reason":"length"}],
                         "usage":{"prompt_tokens":8,"completion_tokens":1,"total_tokens":9,
                                  "prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},
                                  "completion_tokens_details":{"reasoning_tokens":0},
                                  "cache_creation_input_tokens":0,"cache_read_input_tokens":0}}""")
        );
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("responses")
    void translatesResponse(String name, String anthropic, String expectedOpenAi) {
        assertJsonEquals(expectedOpenAi, ChatResponseTranslator.toChatCompletion(json(anthropic), "claude-sonnet-4-5", 1727000000L));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "end_turn, stop",
            "stop_sequence, stop",
            "pause_turn, stop",
            "max_tokens, length",
            "model_context_window_exceeded, length",
            "tool_use, tool_calls",
            "refusal, content_filter",
    })
    void mapsFinishReason(String stopReason, String finishReason) {
        var msg = json("{\"id\":\"msg_x\",\"content\":[{\"type\":\"text\",\"text\":\"t\"}],\"stop_reason\":\"" + stopReason
                + "\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}");
        var out = ChatResponseTranslator.toChatCompletion(msg, "m", 1L);
        assertEquals(finishReason, out.path("choices").path(0).path("finish_reason").asText());
        assertEquals(finishReason, ChatResponseTranslator.finishReason(stopReason));
    }
}
