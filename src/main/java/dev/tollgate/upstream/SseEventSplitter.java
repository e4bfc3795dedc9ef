package dev.tollgate.upstream;

import java.nio.charset.StandardCharsets;

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

    private final Listener listener;
    private final SseLineBuffer lines = new SseLineBuffer();
    private String event;
    private StringBuilder data;

    public SseEventSplitter(Listener listener) {
        this.listener = listener;
    }

    public void feed(byte[] bytes, int offset, int length) {
        lines.feed(bytes, offset, length, this::onLine);
    }

    private void onLine(byte[] line, int len) {
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
