package dev.tollgate.gateway;

import dev.tollgate.metering.HoldEstimator.InputBound;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The facts a request's hold is sized from, read from bodies of every shape the API allows. */
class MessagesRequestTest {

    private static MessagesRequest parse(String fieldsAfterModel) {
        return MessagesRequest.parse(("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":64," + fieldsAfterModel + "}")
                .getBytes(StandardCharsets.UTF_8), true);
    }

    private static String user(String block) {
        return "\"messages\":[{\"role\":\"user\",\"content\":[" + block + "]}]";
    }

    private static final String TEXT = "{\"type\":\"text\",\"text\":\"hi\"}";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no cache_control        | " + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]                                                                      | false | false",
            "tool definition         | \"tools\":[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"},\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":[] | true  | false",
            "tool definition, 1h     | \"tools\":[{\"name\":\"t\",\"input_schema\":{},\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}],\"messages\":[]   | true  | true",
            "system block            | \"system\":[{\"type\":\"text\",\"text\":\"s\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":[]                    | true  | false",
            "message block, 1h       | \"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"t\",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}]}] | true | true",
            "document                | \"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\",\"data\":\"d\"},\"cache_control\":{\"type\":\"ephemeral\"}}]}] | true | false",
            "tool result             | \"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\",\"content\":\"r\",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"5m\"}}]}] | true | false",
            "top-level automatic, 1h | \"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"},\"messages\":[]                                                       | true  | true",
            "top-level null          | \"cache_control\":null,\"messages\":[]                                                                                        | false | false",
    })
    void cacheControlIsFoundWhereverTheApiAllowsIt(String where, String fields, boolean caching, boolean oneHour) {
        MessagesRequest request = parse(fields.strip());
        assertEquals(caching, request.cacheControl(), where);
        assertEquals(oneHour, request.oneHourCacheTtl(), where);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "text                        | " + TEXT + "                                                                                               | BODY",
            "base64 document             | {\"type\":\"document\",\"source\":{\"type\":\"base64\",\"media_type\":\"application/pdf\",\"data\":\"JVBE\"}} | BODY",
            "image by URL (downscaled)   | {\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/cat.jpg\"}}                             | BODY",
            "image by file (downscaled)  | {\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"file_01\"}}                                  | BODY",
            "document by file            | {\"type\":\"document\",\"source\":{\"type\":\"file\",\"file_id\":\"file_01\"}}                               | COUNT_TOKENS",
            "document by file, type last | {\"source\":{\"file_id\":\"file_01\",\"type\":\"file\"},\"type\":\"document\"}                               | COUNT_TOKENS",
            "document by URL             | {\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":\"https://x/a.pdf\"}}                            | CONTEXT_WINDOW",
            "document by URL in a result | {\"type\":\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":\"https://x/a.pdf\"}}]} | CONTEXT_WINDOW",
            "container upload            | {\"type\":\"container_upload\",\"file_id\":\"file_01\"}                                                     | CONTEXT_WINDOW",
    })
    void contentNamedButNotContainedIsNotBoundedByTheBody(String what, String block, InputBound expected) {
        assertEquals(expected, parse(user(block.strip())).inputBound(), what);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "client tool             | \"tools\":[{\"name\":\"t\",\"input_schema\":{}}]                                        | BODY",
            "bash (client-executed)  | \"tools\":[{\"type\":\"bash_20250124\",\"name\":\"bash\"}]                              | BODY",
            "web search              | \"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]                  | CONTEXT_WINDOW",
            "web fetch               | \"tools\":[{\"type\":\"web_fetch_20250910\",\"name\":\"web_fetch\"}]                    | CONTEXT_WINDOW",
            "code execution          | \"tools\":[{\"type\":\"code_execution_20250825\",\"name\":\"code_execution\"}]          | CONTEXT_WINDOW",
            "MCP server              | \"mcp_servers\":[{\"type\":\"url\",\"url\":\"https://mcp.example.com/sse\",\"name\":\"m\"}] | CONTEXT_WINDOW",
            "no MCP server           | \"mcp_servers\":[]                                                                     | BODY",
    })
    void resultsAddedDuringTheCallAreBoundedOnlyByTheContextWindow(String what, String fields, InputBound expected) {
        assertEquals(expected, parse(fields.strip() + "," + user(TEXT)).inputBound(), what);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no container, no code execution | \"metadata\":{}                                                                            | false | ",
            "code execution tool             | \"tools\":[{\"type\":\"code_execution_20250825\",\"name\":\"code_execution\"}]        | true  | ",
            "container by id                 | \"container\":\"container_011A\"                                                          | true  | container_011A",
            "container object with skills    | \"container\":{\"id\":\"container_011B\",\"skills\":[{\"type\":\"custom\",\"skill_id\":\"skill_01\"}]} | true | container_011B",
            "new container for skills        | \"container\":{\"skills\":[{\"type\":\"anthropic\",\"skill_id\":\"xlsx\"}]}             | true  | ",
            "container null                  | \"container\":null                                                                          | false | ",
    })
    void aContainerIsNamedForOwnershipAndCodeExecutionMarksTheResponseForInspection(String what, String fields,
                                                                                     boolean inspected, String container) {
        MessagesRequest r = parse(fields.strip() + "," + user(TEXT));
        assertEquals(inspected, r.mayCreateFiles(), what);
        assertEquals(container == null ? null : java.util.List.of(container), r.containerIds(), what);
        assertEquals(container != null || fields.contains("skill_01"), r.namesStoredResources(), what);
    }

    @org.junit.jupiter.api.Test
    void aContainerThatIsNeitherAnIdNorAnObjectIsRefused() {
        dev.tollgate.api.ApiException e = org.junit.jupiter.api.Assertions.assertThrows(dev.tollgate.api.ApiException.class,
                () -> parse("\"container\":42," + user(TEXT)));
        assertEquals(400, e.status());
        assertEquals("container: Input should be a valid string or object", e.getMessage());
    }
}
