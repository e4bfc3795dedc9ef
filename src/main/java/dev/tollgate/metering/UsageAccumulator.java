package dev.tollgate.metering;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;

/**
 * Folds the upstream's usage objects into one snapshot the way the official SDKs do: a message or
 * message_start sets every field; each message_delta replaces output_tokens and any input-side
 * field it carries (values are cumulative: the last one wins, nothing is summed). The price
 * modifiers the upstream reports (service_tier, inference_geo, speed) are kept as reported, null
 * when it is silent, so the request's can stand in for them.
 */
public final class UsageAccumulator {

    private long input;
    private long output;
    private long cacheCreation;
    private long cache5m;
    private long cache1h;
    private boolean breakdownReported;
    private long cacheRead;
    private long webSearches;
    private String serviceTier;
    private String inferenceGeo;
    private String speed;
    private boolean reported;
    private boolean deltaReported;

    /**
     * The {@code usage} object of a complete Message, found with a streaming pass that skips
     * everything else (no tree of the content is built); null when the message has none.
     */
    public static JsonNode readMessageUsage(ObjectMapper mapper, byte[] message) throws IOException {
        try (JsonParser parser = mapper.createParser(message)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw new JsonParseException(parser, "a Message is a JSON object");
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                parser.nextToken();
                if ("usage".equals(field)) {
                    return parser.readValueAsTree();
                }
                parser.skipChildren();
            }
            return null;
        }
    }

    /** The usage of a whole Message, or of message_start's message. */
    public void applyMessageUsage(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return;
        }
        reported = true;
        input = usage.path("input_tokens").asLong(0);
        output = usage.path("output_tokens").asLong(0);
        cacheCreation = usage.path("cache_creation_input_tokens").asLong(0);
        cacheRead = usage.path("cache_read_input_tokens").asLong(0);
        JsonNode breakdown = usage.get("cache_creation");
        if (breakdown != null && breakdown.isObject()) {
            breakdownReported = true;
            cache5m = breakdown.path("ephemeral_5m_input_tokens").asLong(0);
            cache1h = breakdown.path("ephemeral_1h_input_tokens").asLong(0);
        }
        webSearches = usage.path("server_tool_use").path("web_search_requests").asLong(0);
        serviceTier = text(usage, "service_tier", null);
        inferenceGeo = text(usage, "inference_geo", null);
        speed = text(usage, "speed", null);
    }

    /** The cumulative usage of a message_delta event. */
    public void applyDeltaUsage(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return;
        }
        reported = true;
        deltaReported = true;
        output = usage.path("output_tokens").asLong(output);
        input = replaceIfPresent(usage, "input_tokens", input);
        long creation = replaceIfPresent(usage, "cache_creation_input_tokens", cacheCreation);
        if (creation != cacheCreation) {
            cacheCreation = creation;
            breakdownReported = false; // the delta has no breakdown; a changed total voids the old one
        }
        cacheRead = replaceIfPresent(usage, "cache_read_input_tokens", cacheRead);
        JsonNode server = usage.get("server_tool_use");
        if (server != null && server.isObject()) {
            webSearches = server.path("web_search_requests").asLong(webSearches);
        }
        serviceTier = text(usage, "service_tier", serviceTier);
        inferenceGeo = text(usage, "inference_geo", inferenceGeo);
        speed = text(usage, "speed", speed);
    }

    private static String text(JsonNode usage, String field, String current) {
        JsonNode v = usage.get(field);
        return v != null && v.isTextual() ? v.asText() : current;
    }

    private static long replaceIfPresent(JsonNode usage, String field, long current) {
        JsonNode v = usage.get(field);
        return v == null || v.isNull() ? current : v.asLong(current);
    }

    /**
     * For a stream cut before its end: output becomes the larger of the last cumulative count
     * reported and {@code producedLowerBound}. message_start's output_tokens is only a placeholder,
     * so it is not counted when no message_delta came.
     */
    public void cutShort(long producedLowerBound) {
        output = deltaReported ? Math.max(output, producedLowerBound) : producedLowerBound;
    }

    public boolean reported() {
        return reported;
    }

    /**
     * The usage to bill. Cache writes are split by TTL from the upstream's breakdown; without one,
     * all writes count as 1-hour only when every breakpoint of the request asked for 1h, otherwise
     * as 5-minute (the default TTL, and the cheaper reading when a request mixes both).
     */
    public TokenUsage toTokenUsage(boolean requestOnlyOneHourTtl) {
        long w5m;
        long w1h;
        if (breakdownReported && cache5m + cache1h == cacheCreation) {
            w5m = cache5m;
            w1h = cache1h;
        } else if (requestOnlyOneHourTtl) {
            w5m = 0;
            w1h = cacheCreation;
        } else {
            w5m = cacheCreation;
            w1h = 0;
        }
        return new TokenUsage(input, output, w5m, w1h, cacheRead, webSearches,
                new PriceModifiers(serviceTier, inferenceGeo, speed));
    }
}
