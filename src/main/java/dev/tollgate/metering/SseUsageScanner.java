package dev.tollgate.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import dev.tollgate.upstream.SseLineBuffer;

import java.nio.charset.StandardCharsets;

/**
 * Watches the bytes of an Anthropic SSE stream as they are passed through, without changing or
 * holding them back. Only message_start, message_delta and error events are parsed; every other
 * event costs a line scan. Lines may be split across chunks at any byte.
 */
public final class SseUsageScanner {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[][] EMPTY_DELTAS = {
            "\"text\":\"\"".getBytes(StandardCharsets.US_ASCII),
            "\"partial_json\":\"\"".getBytes(StandardCharsets.US_ASCII),
            "\"thinking\":\"\"".getBytes(StandardCharsets.US_ASCII)};

    private final UsageAccumulator usage = new UsageAccumulator();
    private final SseLineBuffer lines = new SseLineBuffer();
    private String event;
    private boolean messageStart;
    private boolean messageStop;
    private JsonNode error;
    private String messageId;
    private String model;
    private long contentDeltas;

    public void feed(byte[] bytes, int offset, int length) {
        lines.feed(bytes, offset, length, this::onLine);
    }

    private void onLine(byte[] line, int len) {
        if (len == 0) {
            event = null;
            return;
        }
        if (SseLineBuffer.startsWith(line, len, "event:")) {
            event = new String(line, 6, len - 6, StandardCharsets.UTF_8).trim();
            if ("message_stop".equals(event)) {
                messageStop = true;
            }
            return;
        }
        if (!SseLineBuffer.startsWith(line, len, "data:") || event == null) {
            return;
        }
        switch (event) {
            case "content_block_delta" -> {
                if (!containsAny(line, len)) {
                    contentDeltas++;
                }
            }
            case "message_start" -> {
                JsonNode data = parse(line, len);
                if (data != null) {
                    messageStart = true;
                    JsonNode message = data.path("message");
                    messageId = message.path("id").asText(null);
                    model = message.path("model").asText(null);
                    usage.applyMessageUsage(message.get("usage"));
                }
            }
            case "message_delta" -> {
                JsonNode data = parse(line, len);
                if (data != null) {
                    usage.applyDeltaUsage(data.get("usage"));
                }
            }
            case "error" -> error = parse(line, len);
            default -> {
            }
        }
    }

    private static boolean containsAny(byte[] line, int len) {
        for (byte[] needle : EMPTY_DELTAS) {
            if (SseLineBuffer.contains(line, len, needle)) {
                return true;
            }
        }
        return false;
    }

    private static JsonNode parse(byte[] line, int len) {
        try {
            return JSON.readTree(line, 5, len - 5);
        } catch (IOException e) {
            return null; // not ours to judge: the client gets the bytes as they were
        }
    }

    /** message_start was seen: the input side of the usage is final. */
    public boolean sawMessageStart() {
        return messageStart;
    }

    public boolean sawMessageStop() {
        return messageStop;
    }

    /** The data of an `error` event, or null. */
    public JsonNode error() {
        return error;
    }

    public String messageId() {
        return messageId;
    }

    public String model() {
        return model;
    }

    /** Non-empty content deltas seen: each carried at least one output token. */
    public long contentDeltas() {
        return contentDeltas;
    }

    public UsageAccumulator usage() {
        return usage;
    }
}
