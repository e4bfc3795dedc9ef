package dev.tollgate.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reads SSE events (name, data) off a stream, one at a time, as a client would. */
public final class Sse implements AutoCloseable {

    public record Event(String name, String data) {
    }

    private final BufferedReader reader;

    public Sse(InputStream in) {
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    /** The next event, or null at the end of the stream. */
    public Event next() throws IOException {
        String name = null;
        StringBuilder data = null;
        String line;
        while ((line = reader.readLine()) != null) {
            if (line.isEmpty()) {
                if (name != null || data != null) {
                    return new Event(name, data == null ? null : data.toString());
                }
                continue;
            }
            if (line.startsWith("event:")) {
                name = line.substring(6).trim();
            } else if (line.startsWith("data:")) {
                data = new StringBuilder(line.substring(5).trim());
            }
        }
        return name != null || data != null ? new Event(name, data == null ? null : data.toString()) : null;
    }

    public List<Event> rest() throws IOException {
        List<Event> events = new ArrayList<>();
        Event e;
        while ((e = next()) != null) {
            events.add(e);
        }
        return events;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
