package dev.tollgate.api;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Where a page of a newest-first listing ended: the last row's creation time and id, its tie
 * breaker (rows with equal times are ordered by id). Opaque to clients: base64url of both.
 */
public record PageCursor(Instant createdAt, String id) {

    public String encode() {
        return Base64.getUrlEncoder().withoutPadding()
                .encodeToString((createdAt + "|" + id).getBytes(StandardCharsets.UTF_8));
    }

    /** Null for null; 400 naming {@code cursor} for anything this API did not return. */
    public static PageCursor decode(String text) {
        if (text == null) {
            return null;
        }
        try {
            String[] parts = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8).split("\\|", -1);
            if (parts.length != 2 || parts[1].isEmpty()) {
                throw new IllegalArgumentException("two parts");
            }
            return new PageCursor(Instant.parse(parts[0]), parts[1]);
        } catch (RuntimeException e) {
            throw invalid();
        }
    }

    public java.util.UUID uuid() {
        try {
            return java.util.UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw invalid();
        }
    }

    public long longId() {
        try {
            return Long.parseLong(id);
        } catch (NumberFormatException e) {
            throw invalid();
        }
    }

    private static ApiException invalid() {
        return ApiException.invalidRequest("cursor: not a cursor this API returned (use next_cursor as given)");
    }

    /** The page size: 50 when absent, else 1 to {@code max}; 400 naming {@code limit} otherwise. */
    public static int limit(Integer limit, int max) {
        int size = limit == null ? 50 : limit;
        if (size < 1 || size > max) {
            throw ApiException.invalidRequest("limit: must be between 1 and " + max);
        }
        return size;
    }
}
