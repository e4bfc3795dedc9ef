package dev.tollgate.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Rewrites of an Anthropic Messages body for the clouds' envelopes, on the bytes: top-level members
 * are dropped or added, and every member kept goes out exactly as the client sent it (numbers,
 * escapes and order untouched). Also the Anthropic error envelope for errors the clouds word otherwise.
 */
public final class AnthropicBody {

    private static final JsonFactory FACTORY = new JsonFactory();
    private static final ObjectMapper JSON = new ObjectMapper();

    private AnthropicBody() {
    }

    /**
     * {@code body} without the top-level members named in {@code drop}, with {@code prefix} (members
     * as JSON text, e.g. {@code "anthropic_version":"x"}, or empty) first.
     *
     * @throws IllegalArgumentException if the body is not a JSON object
     */
    public static byte[] rewrite(byte[] body, Set<String> drop, String prefix) {
        List<int[]> kept = new ArrayList<>();
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("the body is not a JSON object");
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                int start = (int) p.currentTokenLocation().getByteOffset();
                String name = p.currentName();
                p.nextToken();
                p.skipChildren();
                p.finishToken(); // a string is read lazily: its end is known only once it is
                int end = (int) p.currentLocation().getByteOffset();
                if (!drop.contains(name)) {
                    kept.add(new int[] {start, end});
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw new IllegalArgumentException("the body is not a JSON object");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("the body is not JSON", e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + prefix.length() + 8);
        out.write('{');
        byte[] pre = prefix.getBytes(StandardCharsets.UTF_8);
        out.write(pre, 0, pre.length);
        boolean first = pre.length == 0;
        for (int[] range : kept) {
            if (!first) {
                out.write(',');
            }
            first = false;
            out.write(body, range[0], range[1] - range[0]);
        }
        out.write('}');
        return out.toByteArray();
    }

    /** The anthropic-beta header values of a call, split on commas, trimmed, deduplicated, in order. */
    public static List<String> betas(List<String> headerValues) {
        Set<String> betas = new LinkedHashSet<>();
        for (String value : headerValues) {
            for (String beta : value.split(",")) {
                if (!beta.isBlank()) {
                    betas.add(beta.trim());
                }
            }
        }
        return new ArrayList<>(betas);
    }

    /** A JSON string literal (quotes included). */
    public static String quote(String value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code {"type":"error","error":{"type":type,"message":message}}}. */
    public static byte[] error(String type, String message) {
        ObjectNode root = JSON.createObjectNode().put("type", "error");
        root.putObject("error").put("type", type).put("message", message);
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
