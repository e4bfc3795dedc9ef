package dev.tollgate.upstream;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SseEventSplitterTest {

    private static final String STREAM = "event: message_start\ndata: {\"a\":1}\n\n"
            + ": keep-alive comment\n\n"
            + "event: content_block_delta\r\ndata: {\"text\":\"h\u00e9llo \u4e16\u754c \uD83D\uDE00\"}\r\n\r\n"
            + "data: line one\ndata:line two\n\n"
            + "event: ping\ndata: {}\n\n"
            + "event: incomplete\ndata: {\"never\":\"ended\"}\n";

    private static final List<String> EXPECTED = List.of(
            "message_start|{\"a\":1}",
            "content_block_delta|{\"text\":\"h\u00e9llo \u4e16\u754c \uD83D\uDE00\"}",
            "null|line one\nline two",
            "ping|{}");

    @Test
    void wholeStreamInOneChunk() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        assertEquals(EXPECTED, split(bytes, bytes.length));
    }

    @Test
    void everyChunkSizeGivesTheSameEvents() {
        byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
        for (int size = 1; size < 40; size++) {
            assertEquals(EXPECTED, split(bytes, size), "chunks of " + size + " bytes");
        }
    }

    private static List<String> split(byte[] bytes, int chunkSize) {
        List<String> events = new ArrayList<>();
        SseEventSplitter splitter = new SseEventSplitter((event, data) -> events.add(event + "|" + data));
        for (int i = 0; i < bytes.length; i += chunkSize) {
            splitter.feed(bytes, i, Math.min(chunkSize, bytes.length - i));
        }
        return events;
    }
}
