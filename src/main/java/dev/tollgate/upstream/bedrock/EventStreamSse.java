package dev.tollgate.upstream.bedrock;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;
import software.amazon.eventstream.MessageDecoder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * Bedrock's {@code application/vnd.amazon.eventstream} response as Anthropic's SSE, chunk by chunk:
 * AWS's decoder frames the bytes and verifies both CRCs of every frame (a bad one fails the
 * stream); each {@code chunk} event's payload {@code {"bytes":"<base64>","p":"..."}} is one
 * Anthropic stream event, re-emitted as {@code event: <its type>} and {@code data:} the very JSON
 * AWS carried. One exception: {@code message_stop}'s {@code amazon-bedrock-invocationMetrics}
 * (the operator's AWS metrics) is removed, so the client sees Anthropic's {@code message_stop}.
 * An exception frame becomes Anthropic's {@code event: error}. Nothing is held back: what one
 * network chunk completes goes out at once.
 */
final class EventStreamSse {

    private static final JsonFactory FACTORY = new JsonFactory();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] EVENT = "event: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DATA = "\ndata: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final String METRICS = "amazon-bedrock-invocationMetrics";

    private final MessageDecoder decoder = new MessageDecoder(this::onMessage);
    private Buffer out;

    /**
     * The SSE bytes that {@code chunk} completes (null: none yet).
     *
     * @throws IllegalArgumentException or IllegalStateException for a frame that fails its checksum or cannot be read
     */
    Buffer feed(Buffer chunk) {
        out = null;
        decoder.feed(chunk.getBytes());
        return out;
    }

    private void onMessage(Message message) {
        Map<String, HeaderValue> headers = message.getHeaders();
        String messageType = string(headers, ":message-type");
        if ("exception".equals(messageType)) {
            error(BedrockErrors.streamException(string(headers, ":exception-type")));
        } else if ("error".equals(messageType)) {
            error(BedrockErrors.streamException(string(headers, ":error-code")));
        } else if ("chunk".equals(string(headers, ":event-type"))) {
            byte[] inner = innerEvent(message.getPayload());
            if (inner != null) {
                event(inner);
            }
        }
        // Any other event (none is documented for this operation) carries nothing for the client.
    }

    /** The Anthropic event inside a chunk's payload; null for a payload without one (a keep-alive). */
    private static byte[] innerEvent(byte[] payload) {
        try (JsonParser p = FACTORY.createParser(payload)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("bytes".equals(name) && value == JsonToken.VALUE_STRING) {
                    return Base64.getDecoder().decode(p.getText());
                }
                p.skipChildren();
            }
            return null;
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("A Bedrock stream chunk could not be read", e);
        }
    }

    private void event(byte[] json) {
        String type = type(json);
        if (type == null) {
            return; // the SDKs drop chunks without a type (gateway keep-alives)
        }
        if (type.equals("message_stop")) {
            json = withoutMetrics(json);
        }
        for (int i = 0; i < json.length; i++) {
            if (json[i] == '\n' || json[i] == '\r') {
                json[i] = ' '; // only whitespace can be a raw line break in JSON: one SSE data line
            }
        }
        write(type, json);
    }

    private void error(BedrockErrors.Mapped error) {
        write("error", error.envelope());
    }

    private void write(String type, byte[] json) {
        if (out == null) {
            out = Buffer.buffer(json.length + type.length() + 20);
        }
        out.appendBytes(EVENT).appendString(type).appendBytes(DATA).appendBytes(json).appendBytes(END);
    }

    private static String type(byte[] json) {
        try (JsonParser p = FACTORY.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("type".equals(name) && value == JsonToken.VALUE_STRING) {
                    return p.getText();
                }
                p.skipChildren();
            }
            return null;
        } catch (IOException e) {
            throw new IllegalStateException("A Bedrock stream event is not JSON", e);
        }
    }

    private static byte[] withoutMetrics(byte[] json) {
        try {
            ObjectNode event = (ObjectNode) JSON.readTree(json);
            if (event.remove(METRICS) == null) {
                return json;
            }
            return JSON.writeValueAsBytes(event);
        } catch (IOException | ClassCastException e) {
            return json;
        }
    }

    private static String string(Map<String, HeaderValue> headers, String name) {
        HeaderValue value = headers.get(name);
        return value == null ? null : value.getString();
    }
}
