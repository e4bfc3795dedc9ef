package dev.tollgate.upstream.bedrock;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Bedrock's event-stream frames as SSE, from frames built by AWS's own library and the digest's recorded bytes. */
class EventStreamSseTest {

    private static byte[] chunk(String json) {
        Map<String, HeaderValue> h = new LinkedHashMap<>();
        h.put(":event-type", HeaderValue.fromString("chunk"));
        h.put(":content-type", HeaderValue.fromString("application/json"));
        h.put(":message-type", HeaderValue.fromString("event"));
        String payload = "{\"bytes\":\"" + Base64.getEncoder().encodeToString(json.getBytes(StandardCharsets.UTF_8))
                + "\",\"p\":\"abcdefgh\"}";
        ByteBuffer frame = new Message(h, payload.getBytes(StandardCharsets.UTF_8)).toByteBuffer();
        byte[] bytes = new byte[frame.remaining()];
        frame.get(bytes);
        return bytes;
    }

    @Test
    void theDigestsRecordedFrameIsMessageStop() {
        byte[] frame = HexFormat.of().parseHex("000000910000004b684a49d10b3a6576656e742d747970650700056368756e6b0d3a636f6e"
                + "74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b2262"
                + "79746573223a2265794a306558426c496a6f696257567a6332466e5a56397a64473977496e303d222c2270223a22616263227da1aebc9a");
        assertEquals("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
                new EventStreamSse().feed(Buffer.buffer(frame)).toString(StandardCharsets.UTF_8));
    }

    @Test
    void eventsAreTheJsonAwsCarriedSplitAnywhere() {
        String delta = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Bonjour é\"}}";
        String stop = "{\"type\":\"message_stop\",\"amazon-bedrock-invocationMetrics\":{\"inputTokenCount\":16,"
                + "\"outputTokenCount\":10,\"invocationLatency\":453,\"firstByteLatency\":296}}";
        Buffer all = Buffer.buffer(chunk(delta)).appendBytes(chunk(stop));
        EventStreamSse sse = new EventStreamSse();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < all.length(); i += 7) {
            Buffer got = sse.feed(all.getBuffer(i, Math.min(all.length(), i + 7)));
            if (got != null) {
                out.append(got.toString(StandardCharsets.UTF_8));
            }
        }
        assertEquals("event: content_block_delta\ndata: " + delta + "\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
                out.toString());
    }

    @Test
    void anExceptionFrameIsAnAnthropicErrorEvent() {
        Map<String, HeaderValue> h = new LinkedHashMap<>();
        h.put(":exception-type", HeaderValue.fromString("throttlingException"));
        h.put(":content-type", HeaderValue.fromString("application/json"));
        h.put(":message-type", HeaderValue.fromString("exception"));
        ByteBuffer frame = new Message(h, "{\"message\":\"Too many requests\"}".getBytes(StandardCharsets.UTF_8)).toByteBuffer();
        byte[] bytes = new byte[frame.remaining()];
        frame.get(bytes);
        assertEquals("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
                        + "\"The upstream Claude API is rate limiting this gateway; retry later\"}}\n\n",
                new EventStreamSse().feed(Buffer.buffer(bytes)).toString(StandardCharsets.UTF_8));
    }

    @Test
    void aFrameThatFailsItsChecksumFailsTheStream() {
        byte[] frame = chunk("{\"type\":\"ping\"}");
        frame[frame.length - 10] ^= 1; // a payload byte: the message CRC no longer matches
        EventStreamSse sse = new EventStreamSse();
        assertThrows(RuntimeException.class, () -> sse.feed(Buffer.buffer(frame)));
    }

    @Test
    void aKeepAliveWithoutBytesIsDropped() {
        Map<String, HeaderValue> h = new LinkedHashMap<>();
        h.put(":event-type", HeaderValue.fromString("chunk"));
        h.put(":message-type", HeaderValue.fromString("event"));
        ByteBuffer frame = new Message(h, "{\"p\":\"abc\"}".getBytes(StandardCharsets.UTF_8)).toByteBuffer();
        byte[] bytes = new byte[frame.remaining()];
        frame.get(bytes);
        assertNull(new EventStreamSse().feed(Buffer.buffer(bytes)));
    }

    @Test
    void modelIdsFollowBedrocksRules() {
        assertEquals("anthropic.claude-sonnet-4-5-20250929-v1:0", BedrockModels.baseId("claude-sonnet-4-5-20250929"));
        assertEquals("anthropic.claude-sonnet-4-6", BedrockModels.baseId("claude-sonnet-4-6"));
        assertEquals("anthropic.claude-opus-4-6-v1", BedrockModels.baseId("claude-opus-4-6"));
        assertEquals("us.anthropic.claude-haiku-4-5-20251001-v1:0",
                BedrockModels.invokeId("claude-haiku-4-5-20251001", "us", Map.of()));
        assertEquals("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fjf2sje1c0jnb",
                BedrockModels.pathSegment("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/jf2sje1c0jnb"));
        assertEquals("claude-sonnet-4-5@20250929", dev.tollgate.upstream.vertex.VertexModels.id("claude-sonnet-4-5-20250929", Map.of()));
        assertEquals("claude-opus-4@20250514", dev.tollgate.upstream.vertex.VertexModels.id("claude-opus-4-20250514", Map.of()));
        assertEquals("claude-sonnet-4-6", dev.tollgate.upstream.vertex.VertexModels.id("claude-sonnet-4-6", Map.of()));
    }
}
