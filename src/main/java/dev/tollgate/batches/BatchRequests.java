package dev.tollgate.batches;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.tollgate.api.ApiException;
import dev.tollgate.gateway.MessagesRequest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A batch create body, read in one streaming pass: each request's {@code custom_id} and its
 * {@code params} (validated as a non-streaming Messages request, from its own bytes of the body).
 * Every refusal names the failing request's index and custom_id.
 */
public final class BatchRequests {

    private static final Pattern CUSTOM_ID = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /** One request of the batch: where its params are in the body, and what they say. */
    public record Item(int index, String customId, MessagesRequest params, int start, int end) {
        public String where() {
            return "requests[" + index + "] (custom_id \"" + customId + "\"): ";
        }

        public ApiException refuse(ApiException e) {
            return new ApiException(e.status(), e.type(), where() + e.getMessage());
        }
    }

    private BatchRequests() {
    }

    /**
     * @throws ApiException 400 naming the failing request, 413 beyond {@code maxRequests}
     */
    public static List<Item> parse(byte[] body, int maxRequests) {
        List<Item> items = new ArrayList<>();
        boolean sawRequests = false;
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw ApiException.invalidRequest("The request body must be a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if (!"requests".equals(field)) {
                    p.skipChildren();
                    continue;
                }
                if (v != JsonToken.START_ARRAY) {
                    throw ApiException.invalidRequest("requests: Input should be a valid list");
                }
                sawRequests = true;
                Set<String> seen = new HashSet<>();
                JsonToken t;
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    int index = items.size();
                    if (index >= maxRequests) {
                        throw ApiException.tooLarge("requests: a batch holds at most " + maxRequests
                                + " requests; requests[" + index + "] is one too many");
                    }
                    items.add(readItem(p, t, index, body, seen));
                }
            }
        } catch (JsonParseException e) {
            throw ApiException.invalidRequest("The request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalidRequest("The request body could not be read: " + e.getMessage());
        }
        if (!sawRequests) {
            throw ApiException.invalidRequest("requests: Field required");
        }
        if (items.isEmpty()) {
            throw ApiException.invalidRequest("requests: List should have at least 1 item");
        }
        return items;
    }

    private static Item readItem(JsonParser p, JsonToken t, int index, byte[] body, Set<String> seen) throws IOException {
        String at = "requests[" + index + "]";
        if (t != JsonToken.START_OBJECT) {
            throw ApiException.invalidRequest(at + ": Input should be a valid object");
        }
        String customId = null;
        int start = -1;
        int end = -1;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            if ("custom_id".equals(field)) {
                if (v != JsonToken.VALUE_STRING) {
                    throw ApiException.invalidRequest(at + ".custom_id: Input should be a valid string");
                }
                customId = p.getText();
            } else if ("params".equals(field)) {
                if (v != JsonToken.START_OBJECT) {
                    throw ApiException.invalidRequest(at + ".params: Input should be a valid object");
                }
                start = (int) p.currentTokenLocation().getByteOffset();
                p.skipChildren();
                end = (int) p.currentLocation().getByteOffset();
            } else {
                p.skipChildren();
            }
        }
        if (customId == null) {
            throw ApiException.invalidRequest(at + ".custom_id: Field required");
        }
        String where = at + " (custom_id \"" + (customId.length() > 80 ? customId.substring(0, 80) + "…" : customId) + "\"): ";
        if (!CUSTOM_ID.matcher(customId).matches()) {
            throw ApiException.invalidRequest(where + "custom_id must be 1 to 64 characters of letters, digits,"
                    + " hyphens and underscores");
        }
        if (!seen.add(customId)) {
            throw ApiException.invalidRequest(where + "custom_id must be unique within the batch");
        }
        if (start < 0) {
            throw ApiException.invalidRequest(where + "params: Field required");
        }
        MessagesRequest params;
        try {
            params = MessagesRequest.parse(Arrays.copyOfRange(body, start, end), true);
        } catch (ApiException e) {
            throw new ApiException(e.status(), e.type(), where + "params." + e.getMessage());
        }
        if (params.stream()) {
            throw ApiException.invalidRequest(where + "params.stream: streaming is not supported inside a batch");
        }
        if (params.maxTokens() < 1) {
            throw ApiException.invalidRequest(where + "params.max_tokens: must be at least 1 inside a batch");
        }
        if (params.requestedModifiers().speed() != null) {
            throw ApiException.invalidRequest(where + "params.speed: fast mode is not available inside a batch");
        }
        return new Item(index, customId, params, start, end);
    }

    /** The body with each request's params replaced by {@code replacements[i]} where that differs (model aliases). */
    public static byte[] rewrite(byte[] body, List<Item> items, List<byte[]> replacements) {
        boolean changed = false;
        for (int i = 0; i < items.size() && !changed; i++) {
            changed = replacements.get(i) != items.get(i).params().body();
        }
        if (!changed) {
            return body;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 64);
        int at = 0;
        for (int i = 0; i < items.size(); i++) {
            Item item = items.get(i);
            out.write(body, at, item.start() - at);
            out.writeBytes(replacements.get(i));
            at = item.end();
        }
        out.write(body, at, body.length - at);
        return out.toByteArray();
    }
}
