package dev.tollgate.openai;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static dev.tollgate.openai.TestJson.assertJsonEquals;
import static dev.tollgate.openai.TestJson.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatRequestTranslatorTest {

    static final ModelCapabilities PLAIN = new ModelCapabilities(8192, false);
    static final ModelCapabilities STRUCTURED = new ModelCapabilities(64000, true);

    static Stream<Arguments> translations() {
        return Stream.of(
                Arguments.of("minimal request gets the model's max output as max_tokens", PLAIN, """
                        {"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}""", """
                        {"model":"claude-sonnet-4-5","max_tokens":8192,"messages":[{"role":"user","content":"Hi"}]}"""),

                Arguments.of("max_completion_tokens preferred over max_tokens", PLAIN, """
                        {"model":"m","max_completion_tokens":100,"max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}""", """
                        {"model":"m","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}"""),

                Arguments.of("legacy max_tokens used when max_completion_tokens is null", PLAIN, """
                        {"model":"m","max_completion_tokens":null,"max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}""", """
                        {"model":"m","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}"""),

                Arguments.of("system and developer messages hoisted and joined with a newline", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"system","content":"You are helpful."},
                          {"role":"user","content":"Hi"},
                          {"role":"developer","content":[{"type":"text","text":"Answer briefly."}]},
                          {"role":"assistant","content":"Hello!"},
                          {"role":"user","content":"Bye"}]}""", """
                        {"model":"m","max_tokens":8192,"system":"You are helpful.\\nAnswer briefly.","messages":[
                          {"role":"user","content":"Hi"},
                          {"role":"assistant","content":"Hello!"},
                          {"role":"user","content":"Bye"}]}"""),

                Arguments.of("cache_control (ttl 1h) on a system message gives an array system", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"system","content":"Long static prompt","cache_control":{"type":"ephemeral","ttl":"1h"}},
                          {"role":"developer","content":"Be terse."},
                          {"role":"user","content":"Hi"}]}""", """
                        {"model":"m","max_tokens":8192,
                         "system":[{"type":"text","text":"Long static prompt","cache_control":{"type":"ephemeral","ttl":"1h"}},
                                   {"type":"text","text":"Be terse."}],
                         "messages":[{"role":"user","content":"Hi"}]}"""),

                Arguments.of("cache_control (ttl 1h) on a content part stays on the matching block", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":[
                          {"type":"text","text":"<big document>","cache_control":{"type":"ephemeral","ttl":"1h"}},
                          {"type":"text","text":"Summarise it."}]}]}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":[
                          {"type":"text","text":"<big document>","cache_control":{"type":"ephemeral","ttl":"1h"}},
                          {"type":"text","text":"Summarise it."}]}]}"""),

                Arguments.of("message-level cache_control goes on the last block of that message", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"user","content":"plain string","cache_control":{"type":"ephemeral"}},
                          {"role":"assistant","content":"ok"},
                          {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],
                           "cache_control":{"type":"ephemeral","ttl":"5m"}}]}""", """
                        {"model":"m","max_tokens":8192,"messages":[
                          {"role":"user","content":[{"type":"text","text":"plain string","cache_control":{"type":"ephemeral"}}]},
                          {"role":"assistant","content":"ok"},
                          {"role":"user","content":[{"type":"text","text":"a"},
                                                    {"type":"text","text":"b","cache_control":{"type":"ephemeral","ttl":"5m"}}]}]}"""),

                Arguments.of("images: data URL to base64 source, https URL to url source, detail ignored", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":[
                          {"type":"text","text":"What is in these images?"},
                          {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
                          {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg","detail":"auto"}}]}]}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":[
                          {"type":"text","text":"What is in these images?"},
                          {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
                          {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}"""),

                Arguments.of("tools with and without parameters, strict, tool_choice required", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"Weather?"}],
                         "tools":[
                           {"type":"function","function":{"name":"get_weather","description":"Get weather",
                             "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},
                             "strict":true}},
                           {"type":"function","function":{"name":"get_time","strict":false}}],
                         "tool_choice":"required"}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"Weather?"}],
                         "tools":[
                           {"name":"get_weather","description":"Get weather",
                            "input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},
                            "strict":true},
                           {"name":"get_time","input_schema":{"type":"object","properties":{}}}],
                         "tool_choice":{"type":"any"}}"""),

                Arguments.of("tool_choice auto", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto"}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],
                         "tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"auto"}}"""),

                Arguments.of("tool_choice none, parallel_tool_calls false not added to none", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none","parallel_tool_calls":false}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],
                         "tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"none"}}"""),

                Arguments.of("tool_choice function with parallel_tool_calls false", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "tools":[{"type":"function","function":{"name":"f"}}],
                         "tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],
                         "tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],
                         "tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}}"""),

                Arguments.of("parallel_tool_calls false without tool_choice creates auto", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],
                         "tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],
                         "tool_choice":{"type":"auto","disable_parallel_tool_use":true}}"""),

                Arguments.of("parallel_tool_calls true changes nothing", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":true}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],
                         "tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}]}"""),

                Arguments.of("multi-turn tool use: assistant tool_calls, tool messages merged, then assistant", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"system","content":"sys"},
                          {"role":"user","content":"Weather in Paris and Rome?"},
                          {"role":"assistant","content":"Let me check.","tool_calls":[
                            {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"location\\":\\"Paris\\"}"}},
                            {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\\"location\\":\\"Rome\\"}"}}]},
                          {"role":"tool","tool_call_id":"call_1","content":"18C, cloudy"},
                          {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"25C, sunny"}]},
                          {"role":"user","content":"Thanks! Which is warmer?"},
                          {"role":"assistant","content":null,"tool_calls":[
                            {"id":"call_3","type":"function","function":{"name":"compare","arguments":""}}]},
                          {"role":"tool","tool_call_id":"call_3","content":"Rome"},
                          {"role":"assistant","content":"Rome is warmer."}]}""", """
                        {"model":"m","max_tokens":8192,"system":"sys","messages":[
                          {"role":"user","content":"Weather in Paris and Rome?"},
                          {"role":"assistant","content":[
                            {"type":"text","text":"Let me check."},
                            {"type":"tool_use","id":"call_1","name":"get_weather","input":{"location":"Paris"}},
                            {"type":"tool_use","id":"call_2","name":"get_weather","input":{"location":"Rome"}}]},
                          {"role":"user","content":[
                            {"type":"tool_result","tool_use_id":"call_1","content":"18C, cloudy"},
                            {"type":"tool_result","tool_use_id":"call_2","content":"25C, sunny"},
                            {"type":"text","text":"Thanks! Which is warmer?"}]},
                          {"role":"assistant","content":[{"type":"tool_use","id":"call_3","name":"compare","input":{}}]},
                          {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_3","content":"Rome"}]},
                          {"role":"assistant","content":"Rome is warmer."}]}"""),

                Arguments.of("tool message with cache_control; tool_result blocks first even after a user message", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"assistant","content":"","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                          {"role":"user","content":"note"},
                          {"role":"tool","tool_call_id":"t1","content":"done","cache_control":{"type":"ephemeral","ttl":"1h"}}]}""", """
                        {"model":"m","max_tokens":8192,"messages":[
                          {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
                          {"role":"user","content":[
                            {"type":"tool_result","tool_use_id":"t1","content":"done","cache_control":{"type":"ephemeral","ttl":"1h"}},
                            {"type":"text","text":"note"}]}]}"""),

                Arguments.of("cache_control on a system text part and on a tool definition", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"developer","content":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral","ttl":"1h"}},
                                                         {"type":"text","text":"more"}]},
                          {"role":"system","content":"tail"},
                          {"role":"user","content":"x"}],
                         "tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}]}""", """
                        {"model":"m","max_tokens":8192,
                         "system":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral","ttl":"1h"}},
                                   {"type":"text","text":"more"},{"type":"text","text":"tail"}],
                         "messages":[{"role":"user","content":"x"}],
                         "tools":[{"name":"f","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}}]}"""),

                Arguments.of("assistant refusal parts and empty assistant messages dropped, names ignored", PLAIN, """
                        {"model":"m","messages":[
                          {"role":"user","name":"bob","content":"x"},
                          {"role":"assistant","content":[{"type":"refusal","refusal":"no"},{"type":"text","text":"ok"}],"refusal":null},
                          {"role":"assistant","content":""},
                          {"role":"user","content":"y"}]}""", """
                        {"model":"m","max_tokens":8192,"messages":[
                          {"role":"user","content":"x"},
                          {"role":"assistant","content":"ok"},
                          {"role":"user","content":"y"}]}"""),

                Arguments.of("consecutive user messages merged", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":[
                          {"type":"text","text":"a"},{"type":"text","text":"b"}]}]}"""),

                Arguments.of("stop as a string becomes a one-element stop_sequences", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END"}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],"stop_sequences":["END"]}"""),

                Arguments.of("stop array copied without whitespace-only entries", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"stop":["END"," ","\\n","STOP"]}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],"stop_sequences":["END","STOP"]}"""),

                Arguments.of("temperature 1.7 capped to 1, top_p copied, user to metadata.user_id, n=1 ok", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1.7,"top_p":0.9,"user":"u-42","n":1}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],
                         "temperature":1.0,"top_p":0.9,"metadata":{"user_id":"u-42"}}"""),

                Arguments.of("temperature within range copied as is", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.3}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}],"temperature":0.3}"""),

                Arguments.of("response_format json_schema with structured outputs", STRUCTURED, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,
                           "schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}""", """
                        {"model":"m","max_tokens":64000,"messages":[{"role":"user","content":"x"}],
                         "output_config":{"format":{"type":"json_schema",
                           "schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}}}}"""),

                Arguments.of("response_format json_object with structured outputs gives a permissive object schema", STRUCTURED, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}""", """
                        {"model":"m","max_tokens":64000,"messages":[{"role":"user","content":"x"}],
                         "output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}}"""),

                Arguments.of("response_format text ignored", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}""", """
                        {"model":"m","max_tokens":8192,"messages":[{"role":"user","content":"x"}]}"""),

                Arguments.of("Claude-only fields pass through, output_config merged; OpenAI-only fields ignored", STRUCTURED, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "thinking":{"type":"enabled","budget_tokens":2048},"top_k":40,
                         "output_config":{"effort":"high"},
                         "response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}},
                         "cache_control":{"type":"ephemeral"},"container":"cntr_1","inference_geo":"us",
                         "context_management":{"edits":[]},"mcp_servers":[{"type":"url","url":"https://mcp.example","name":"x"}],
                         "seed":7,"logprobs":false,"presence_penalty":0.5,"frequency_penalty":0.5,"logit_bias":{"1":2},
                         "store":true,"modalities":["text"],"metadata":{"k":"v"},"service_tier":"auto",
                         "reasoning_effort":"high","prompt_cache_key":"abc","safety_identifier":"s","verbosity":"low",
                         "stream":true,"stream_options":{"include_usage":true}}""", """
                        {"model":"m","max_tokens":64000,"messages":[{"role":"user","content":"x"}],
                         "thinking":{"type":"enabled","budget_tokens":2048},"top_k":40,
                         "output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object"}}},
                         "cache_control":{"type":"ephemeral"},"container":"cntr_1","inference_geo":"us",
                         "context_management":{"edits":[]},"mcp_servers":[{"type":"url","url":"https://mcp.example","name":"x"}],
                         "stream":true}""")
        );
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("translations")
    void translatesRequest(String name, ModelCapabilities caps, String openAi, String expectedAnthropic) {
        TranslatedRequest t = ChatRequestTranslator.toAnthropic(json(openAi), caps);
        assertJsonEquals(expectedAnthropic, t.anthropicBody());
    }

    static Stream<Arguments> rejections() {
        return Stream.of(
                Arguments.of("n=2", PLAIN, """
                        {"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}""", "n", "n=1"),
                Arguments.of("json_schema without structured outputs", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],
                         "response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object"}}}}""",
                        "response_format", "structured outputs"),
                Arguments.of("json_object without structured outputs", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}""",
                        "response_format", "json_object"),
                Arguments.of("input_audio part", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},
                          {"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}""",
                        "messages[0].content[1]", "input_audio"),
                Arguments.of("file part", PLAIN, """
                        {"model":"m","messages":[{"role":"system","content":"s"},
                          {"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}""",
                        "messages[1].content[0]", "'file'"),
                Arguments.of("invalid JSON tool arguments", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"},
                          {"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}""",
                        "messages[1].tool_calls[0].function.arguments", "not valid JSON"),
                Arguments.of("non-object tool arguments", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"},
                          {"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}""",
                        "messages[1].tool_calls[0].function.arguments", "JSON object"),
                Arguments.of("missing messages", PLAIN, """
                        {"model":"m"}""", "messages", "messages"),
                Arguments.of("unknown tool_choice", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"sometimes"}""",
                        "tool_choice", "sometimes"),
                Arguments.of("tool message without tool_call_id", PLAIN, """
                        {"model":"m","messages":[{"role":"tool","content":"x"}]}""", "messages[0].tool_call_id", "tool_call_id"),
                Arguments.of("non-http image URL", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}""",
                        "messages[0].content[0].image_url.url", "http"),
                Arguments.of("malformed data URL", PLAIN, """
                        {"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,xyz"}}]}]}""",
                        "messages[0].content[0].image_url.url", "base64"),
                Arguments.of("negative max_completion_tokens", PLAIN, """
                        {"model":"m","max_completion_tokens":-1,"messages":[{"role":"user","content":"x"}]}""",
                        "max_completion_tokens", "non-negative"),
                Arguments.of("image in a system message", PLAIN, """
                        {"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]},
                          {"role":"user","content":"x"}]}""", "messages[0].content[0]", "text"),
                Arguments.of("unknown role", PLAIN, """
                        {"model":"m","messages":[{"role":"robot","content":"x"}]}""", "messages[0].role", "robot")
        );
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejections")
    void rejectsWith400(String name, ModelCapabilities caps, String openAi, String expectedParam, String messageFragment) {
        OpenAiRequestException e = assertThrows(OpenAiRequestException.class,
                () -> ChatRequestTranslator.toAnthropic(json(openAi), caps));
        assertEquals(expectedParam, e.param());
        assertTrue(e.getMessage().contains(messageFragment), () -> "message was: " + e.getMessage());
        assertEquals(400, e.httpStatus());
        ObjectNode envelope = OpenAiErrors.fromRequestException(e);
        assertJsonEquals(json("{\"error\":{\"message\":" + TestJson.MAPPER.valueToTree(e.getMessage())
                + ",\"type\":\"invalid_request_error\",\"param\":\"" + expectedParam + "\",\"code\":null}}"), envelope);
    }

    @Test
    void exposesStreamAndIncludeUsage() {
        TranslatedRequest t = ChatRequestTranslator.toAnthropic(json("""
                {"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}"""), PLAIN);
        assertTrue(t.stream());
        assertTrue(t.includeUsage());
        assertTrue(t.anthropicBody().path("stream").asBoolean());
        assertFalse(t.anthropicBody().has("stream_options"));

        TranslatedRequest noUsage = ChatRequestTranslator.toAnthropic(json("""
                {"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}"""), PLAIN);
        assertTrue(noUsage.stream());
        assertFalse(noUsage.includeUsage());

        TranslatedRequest plain = ChatRequestTranslator.toAnthropic(json("""
                {"model":"m","messages":[{"role":"user","content":"x"}]}"""), PLAIN);
        assertFalse(plain.stream());
        assertFalse(plain.includeUsage());
        assertFalse(plain.anthropicBody().has("stream"));
    }

    @Test
    void flagsAMaxTokensTheClientDidNotSet() {
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
        assertTrue(ChatRequestTranslator.toAnthropic(json("{\"model\":\"m\"," + messages), PLAIN).maxTokensDefaulted());
        assertTrue(ChatRequestTranslator.toAnthropic(json("{\"model\":\"m\",\"max_tokens\":null," + messages), PLAIN)
                .maxTokensDefaulted());
        for (String field : new String[] {"max_tokens", "max_completion_tokens"}) {
            assertFalse(ChatRequestTranslator.toAnthropic(json("{\"model\":\"m\",\"" + field + "\":8192," + messages), PLAIN)
                    .maxTokensDefaulted(), field);
        }
    }

    @Test
    void doesNotMutateTheInput() {
        var input = json("""
                {"model":"m","messages":[{"role":"user","content":"x","cache_control":{"type":"ephemeral"}}],
                 "thinking":{"type":"enabled","budget_tokens":2048}}""");
        var copy = input.deepCopy();
        ObjectNode out = ChatRequestTranslator.toAnthropic(input, PLAIN).anthropicBody();
        ((ObjectNode) out.get("thinking")).put("budget_tokens", 1);
        assertEquals(copy, input);
    }
}
