package dev.tollgate.batches;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.tollgate.api.ApiException;
import dev.tollgate.gateway.MessagesRequest;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A batch create body (spooled to a file), read in one streaming pass: each request's
 * {@code custom_id} and its {@code params} (validated as a non-streaming Messages request, from its
 * own bytes of the file, and handed to the caller's check, then dropped), so memory holds one
 * request at a time, never the body. Every refusal names the failing request's index and custom_id.
 */
public final class BatchRequests {

    private static final Pattern CUSTOM_ID = Pattern.compile("^[a-zA-Z0-9_-]{1,64}$");
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /** One request of the batch, and where its params are in the body. */
    public record Item(int index, String customId, long start, long end) {
        public String where() {
            return "requests[" + index + "] (custom_id \"" + customId + "\"): ";
        }

        public ApiException refuse(ApiException e) {
            return new ApiException(e.status(), e.type(), where() + e.getMessage());
        }
    }

    /** What the caller does with each request's params as they are read (a refusal throws). */
    @FunctionalInterface
    public interface Check {
        void check(Item item, MessagesRequest params);
    }

    private BatchRequests() {
    }

    /**
     * @throws ApiException 400 naming the failing request, 413 beyond {@code maxRequests}, or what
     *                      {@code check} threw
     */
    public static List<Item> parse(Path body, int maxRequests, Check check) {
        List<Item> items = new ArrayList<>();
        boolean sawRequests = false;
        try (FileChannel file = FileChannel.open(body, StandardOpenOption.READ);
             InputStream in = new BufferedInputStream(Files.newInputStream(body), 64 * 1024);
             JsonParser p = FACTORY.createParser(in)) {
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
                    items.add(readItem(p, t, index, file, seen, check));
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

    private static Item readItem(JsonParser p, JsonToken t, int index, FileChannel file, Set<String> seen, Check check)
            throws IOException {
        String at = "requests[" + index + "]";
        if (t != JsonToken.START_OBJECT) {
            throw ApiException.invalidRequest(at + ": Input should be a valid object");
        }
        String customId = null;
        long start = -1;
        long end = -1;
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
                start = p.currentTokenLocation().getByteOffset();
                p.skipChildren();
                end = p.currentLocation().getByteOffset();
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
            params = MessagesRequest.parse(read(file, start, end), true);
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
        Item item = new Item(index, customId, start, end);
        check.check(item, params);
        return item;
    }

    private static byte[] read(FileChannel file, long start, long end) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate((int) (end - start));
        while (bytes.hasRemaining()) {
            if (file.read(bytes, start + bytes.position()) < 0) {
                throw new IOException("the body ended early");
            }
        }
        return bytes.array();
    }

    /**
     * The body to send: {@code body} itself when no request's params changed, else a new temporary
     * file with each of {@code replaced} (request index → params, e.g. a model alias spliced) in place
     * of that request's params and every other byte copied.
     */
    public static Path rewrite(Path body, List<Item> items, Map<Integer, byte[]> replaced) throws IOException {
        if (replaced.isEmpty()) {
            return body;
        }
        Path out = Files.createTempFile("tollgate-batch-", ".json");
        try (FileChannel in = FileChannel.open(body, StandardOpenOption.READ);
             FileChannel to = FileChannel.open(out, StandardOpenOption.WRITE)) {
            long at = 0;
            for (Map.Entry<Integer, byte[]> r : new TreeMap<>(replaced).entrySet()) {
                Item item = items.get(r.getKey());
                copy(in, at, item.start(), to);
                to.write(ByteBuffer.wrap(r.getValue()));
                at = item.end();
            }
            copy(in, at, in.size(), to);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(out);
            throw e;
        }
        return out;
    }

    private static void copy(FileChannel in, long from, long to, FileChannel out) throws IOException {
        for (long at = from; at < to; ) {
            at += in.transferTo(at, to - at, out);
        }
    }
}
