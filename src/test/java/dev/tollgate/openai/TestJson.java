package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

final class TestJson {

    static final ObjectMapper MAPPER = new ObjectMapper();

    private TestJson() {
    }

    static JsonNode json(String s) {
        try {
            return MAPPER.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException("bad test JSON: " + s, e);
        }
    }

    /** JsonNode equality with a readable diff on failure. */
    static void assertJsonEquals(String expected, JsonNode actual) {
        assertJsonEquals(json(expected), actual);
    }

    /**
     * Structural JSON equality; numbers compare by value (an int 5 equals a long 5, 1 equals 1.0), because node
     * types differ between parsed and built trees while the serialized JSON means the same.
     */
    static void assertJsonEquals(JsonNode expected, JsonNode actual) {
        if (actual == null || !expected.equals(NUMERIC_AWARE, actual)) {
            assertEquals(expected.toPrettyString(), actual == null ? "null" : actual.toPrettyString());
            assertEquals(expected, actual);
        }
    }

    private static final Comparator<JsonNode> NUMERIC_AWARE = (a, b) -> {
        if (a.equals(b)) {
            return 0;
        }
        if (a.isNumber() && b.isNumber() && a.decimalValue().compareTo(b.decimalValue()) == 0) {
            return 0;
        }
        return 1;
    };

    /** One parsed SSE event from an Anthropic stream transcript. */
    record SseEvent(String name, JsonNode data) {
    }

    /** Parses "event: x\ndata: {...}\n\n" blocks. */
    static List<SseEvent> parseSse(String transcript) {
        List<SseEvent> events = new ArrayList<>();
        for (String block : transcript.strip().split("\n\\s*\n")) {
            String name = null;
            String data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event:")) {
                    name = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data = line.substring(5).trim();
                }
            }
            if (name != null) {
                events.add(new SseEvent(name, json(data)));
            }
        }
        return events;
    }
}
