package dev.tollgate.upstream;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Splits raw SSE bytes into events as they arrive, for surfaces that must re-encode a stream
 * rather than pass it through. Chunks may split lines (and UTF-8 characters) at any byte: a line
 * is decoded only once it is complete. An event is handed over at the blank line that ends it;
 * several {@code data:} lines are joined with "\n" as the SSE spec says. Comments are dropped.
 */
public final class SseEventSplitter {

    /** Receives each complete event: its {@code event:} name (null if none) and its data. */
    @FunctionalInterface
    public interface Listener {
        void onEvent(String event, String data);
    }

    private static final int MAX_LINE = 64 * 1024 * 1024;

    private final Listener listener;
    private byte[] line = new byte[512];
    private int lineLength;
    private String event;
    private StringBuilder data;

    public SseEventSplitter(Listener listener) {
        this.listener = listener;
    }

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
            if (data != null) {
                listener.onEvent(event, data.toString());
            }
            event = null;
            data = null;
            return;
        }
        String text = new String(line, 0, len, StandardCharsets.UTF_8);
        int colon = text.indexOf(':');
        if (colon == 0) {
            return;
        }
        String field = colon < 0 ? text : text.substring(0, colon);
        String value = colon < 0 ? "" : text.substring(text.startsWith(" ", colon + 1) ? colon + 2 : colon + 1);
        if ("event".equals(field)) {
            event = value;
        } else if ("data".equals(field)) {
            data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
        }
    }
}
