package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * One request as the fake upstream received it. {@code headers} has lower-cased names; repeated headers are
 * joined with {@code ", "}. {@code pathAndQuery} is the raw request URI (e.g. {@code /v1/messages?beta=true}).
 */
public record RecordedRequest(String method, String pathAndQuery, Map<String, String> headers, byte[] body) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public RecordedRequest {
        headers = Map.copyOf(headers);
        body = body == null ? new byte[0] : body.clone();
    }

    @Override
    public byte[] body() {
        return body.clone();
    }

    /** The body parsed as JSON; throws {@link UncheckedIOException} if it is not JSON. */
    public JsonNode json() {
        try {
            return MAPPER.readTree(body);
        } catch (IOException e) {
            throw new UncheckedIOException("request body is not JSON: " + bodyString(), e);
        }
    }

    public String bodyString() {
        return new String(body, StandardCharsets.UTF_8);
    }

    /** Header value by case-insensitive name, or null. */
    public String header(String name) {
        return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }

    /** Path without the query string. */
    public String path() {
        int q = pathAndQuery.indexOf('?');
        return q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    }

    @Override
    public String toString() {
        return "RecordedRequest[" + method + " " + pathAndQuery + ", headers=" + headers + ", body=" + bodyString() + "]";
    }
}
