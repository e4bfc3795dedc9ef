package dev.tollgate.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Watches the bytes of an Anthropic SSE stream as they are passed through, without changing or
 * holding them back. Only message_start, message_delta and error events are parsed; every other
 * event costs a line scan. Lines may be split across chunks at any byte.
 */
public final class SseUsageScanner {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_LINE = 64 * 1024 * 1024;
    private static final byte[][] EMPTY_DELTAS = {
            "\"text\":\"\"".getBytes(StandardCharsets.US_ASCII),
            "\"partial_json\":\"\"".getBytes(StandardCharsets.US_ASCII),
            "\"thinking\":\"\"".getBytes(StandardCharsets.US_ASCII)};

    private final UsageAccumulator usage = new UsageAccumulator();
    private byte[] line = new byte[512];
    private int lineLength;
    private String event;
    private boolean messageStart;
    private boolean messageStop;
    private JsonNode error;
    private String messageId;
    private String model;
    private long contentDeltas;

    public void feed(byte[] bytes, int offset, int length) {
        int end = offset + length;
        for (int i = offset; i < end; i++) {
            byte b = bytes[i];
            if (b == '\n') {
                onLine();
                lineLength = 0;
            } else if (lineLength < MAX_LINE) {
                if (lineLength == line.length) {
                    line = Arrays.copyOf(line, line.length * 2);
                }
                line[lineLength++] = b;
            }
        }
    }

    private void onLine() {
        int len = lineLength;
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            event = null;
            return;
        }
        if (startsWith("event:", len)) {
            event = new String(line, 6, len - 6, StandardCharsets.UTF_8).trim();
            if ("message_stop".equals(event)) {
                messageStop = true;
            }
            return;
        }
        if (!startsWith("data:", len) || event == null) {
            return;
        }
        switch (event) {
            case "content_block_delta" -> {
                if (!containsAny(len)) {
                    contentDeltas++;
                }
            }
            case "message_start" -> {
                JsonNode data = parse(len);
                if (data != null) {
                    messageStart = true;
                    JsonNode message = data.path("message");
                    messageId = message.path("id").asText(null);
                    model = message.path("model").asText(null);
                    usage.applyMessageUsage(message.get("usage"));
                }
            }
            case "message_delta" -> {
                JsonNode data = parse(len);
                if (data != null) {
                    usage.applyDeltaUsage(data.get("usage"));
                }
            }
            case "error" -> error = parse(len);
            default -> {
            }
        }
    }

    private boolean startsWith(String prefix, int len) {
        if (len < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (line[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private boolean containsAny(int len) {
        for (byte[] needle : EMPTY_DELTAS) {
            outer:
            for (int i = 0; i + needle.length <= len; i++) {
                for (int j = 0; j < needle.length; j++) {
                    if (line[i + j] != needle[j]) {
                        continue outer;
                    }
                }
                return true;
            }
        }
        return false;
    }

    private JsonNode parse(int len) {
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
