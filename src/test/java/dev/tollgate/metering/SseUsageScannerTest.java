package dev.tollgate.metering;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The scanner reads usage from any chunking of a stream, padded JSON and CRLF included. */
class SseUsageScannerTest {

    /** Digest §3.5 (thinking + text + tool use, cache hit), with CRLF lines and padding added. */
    static final String STREAM = String.join("\r\n",
            "event: message_start",
            "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XkQ7b3Vh2kR8yT5mNpL9aZ\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":42,\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":2156,\"cache_creation\":{\"ephemeral_5m_input_tokens\":100,\"ephemeral_1h_input_tokens\":200},\"output_tokens\":1,\"service_tier\":\"standard\"}}}",
            "",
            "event: content_block_start",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}",
            "",
            "event: ping",
            "data: {\"type\": \"ping\"}",
            "",
            "event: content_block_delta",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"The user wants the weather. \"}}",
            "",
            "event: content_block_stop",
            "data: {\"type\":\"content_block_stop\",\"index\":0          }",
            "",
            "event: content_block_start",
            "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}",
            "",
            "event: content_block_delta",
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}",
            "",
            "event: content_block_delta",
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"Paris\\\"}\"}}",
            "",
            "event: message_delta",
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":42,\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":2156,\"output_tokens\":87}   }",
            "",
            "event: message_stop",
            "data: {\"type\":\"message_stop\"}",
            "", "");

    @Test
    void everyChunkingGivesTheSameUsage() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        for (int chunk = 1; chunk <= 64; chunk++) {
            SseUsageScanner scanner = new SseUsageScanner();
            for (int i = 0; i < bytes.length; i += chunk) {
                scanner.feed(bytes, i, Math.min(chunk, bytes.length - i));
            }
            assertTrue(scanner.sawMessageStart() && scanner.sawMessageStop(), "chunk " + chunk);
            TokenUsage u = scanner.usage().toTokenUsage(false);
            assertEquals(new TokenUsage(42, 87, 100, 200, 2156, 0, new PriceModifiers("standard", null, null)), u,
                    "chunk " + chunk);
            assertEquals(2, scanner.contentDeltas(), "empty deltas are not output: chunk " + chunk);
            assertEquals("msg_01XkQ7b3Vh2kR8yT5mNpL9aZ", scanner.messageId());
        }
    }

    @Test
    void aCutStreamBillsTheDeltasSeenNotThePlaceholder() {
        String cut = STREAM.substring(0, STREAM.indexOf("event: message_delta"))
                + "event: error\r\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\r\n\r\n";
        SseUsageScanner scanner = new SseUsageScanner();
        byte[] bytes = cut.getBytes(StandardCharsets.UTF_8);
        scanner.feed(bytes, 0, bytes.length);
        assertFalse(scanner.sawMessageStop());
        assertNotNull(scanner.error());
        scanner.usage().cutShort(scanner.contentDeltas());
        assertEquals(2, scanner.usage().toTokenUsage(false).output());
    }

    @Test
    void withoutABreakdownTheRequestsTtlDecides() {
        UsageAccumulator usage = new UsageAccumulator();
        usage.applyMessageUsage(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                .put("input_tokens", 1).put("output_tokens", 2).put("cache_creation_input_tokens", 500));
        assertEquals(500, usage.toTokenUsage(true).cacheWrite1h());
        assertEquals(500, usage.toTokenUsage(false).cacheWrite5m());
    }

    /** message_start reports the modifiers applied (§2.3, §3.3); message_delta, which omits them, keeps them. */
    @Test
    void theModifiersMessageStartReportsAreKept() {
        String stream = STREAM.replace("\"service_tier\":\"standard\"}",
                "\"service_tier\":\"standard\",\"inference_geo\":\"us\",\"speed\":\"fast\"}");
        SseUsageScanner scanner = new SseUsageScanner();
        byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
        scanner.feed(bytes, 0, bytes.length);
        assertEquals(new PriceModifiers("standard", "us", "fast"), scanner.usage().toTokenUsage(false).modifiers());
    }

    @Test
    void aSilentUpstreamReportsNoModifiers() {
        UsageAccumulator usage = new UsageAccumulator();
        usage.applyMessageUsage(new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode()
                .put("input_tokens", 1).put("output_tokens", 2));
        assertEquals(PriceModifiers.NONE, usage.toTokenUsage(false).modifiers());
    }
}
