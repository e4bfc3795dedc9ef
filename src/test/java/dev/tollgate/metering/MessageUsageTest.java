package dev.tollgate.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The streaming read of a Message's top-level usage, which skips the content without a tree. */
class MessageUsageTest {

    static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode usageOf(String message) throws IOException {
        return UsageAccumulator.readMessageUsage(JSON, message.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void findsTheTopLevelUsageAfterTheContent() throws IOException {
        JsonNode usage = usageOf("""
                {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
                 "content":[{"type":"tool_use","id":"toolu_1","name":"report",
                             "input":{"usage":{"input_tokens":999,"output_tokens":999},"list":[1,[2,{"usage":3}]]}}],
                 "stop_reason":"tool_use","stop_sequence":null,
                 "usage":{"input_tokens":12,"output_tokens":34,"cache_creation":{"ephemeral_5m_input_tokens":5}}}""");
        assertEquals(12, usage.get("input_tokens").asLong(), "a usage key nested in the content is not the Message's");
        assertEquals(34, usage.get("output_tokens").asLong());
        assertEquals(5, usage.path("cache_creation").path("ephemeral_5m_input_tokens").asLong());
    }

    @Test
    void aMessageWithoutUsageHasNone() throws IOException {
        assertNull(usageOf("{\"id\":\"msg_1\",\"content\":[]}"));
    }

    @Test
    void aBodyThatIsNotAnObjectIsAnError() {
        assertThrows(IOException.class, () -> usageOf("[1,2]"));
        assertThrows(IOException.class, () -> usageOf("{\"content\":[1,"));
    }
}
