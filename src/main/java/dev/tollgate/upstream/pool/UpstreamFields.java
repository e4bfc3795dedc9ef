package dev.tollgate.upstream.pool;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.upstream.UpstreamTarget;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The admin API's upstream fields, checked before anything is written: every bad value is a 400
 * naming its field. Applies a POST (defaults for what is absent) or a PATCH (only what is present)
 * onto the row to store.
 */
final class UpstreamFields {

    static final Set<String> FIELDS = Set.of("name", "kind", "base_url", "api_key", "weight", "priority", "models",
            "max_concurrent", "enabled");
    static final String ANTHROPIC_BASE_URL = "https://api.anthropic.com";

    private UpstreamFields() {
    }

    /** The settings of {@code body} over {@code current} (null for a new upstream); the api_key, if given, in clear. */
    record Applied(String name, String kind, String baseUrl, String apiKey, int weight, int priority,
                   List<String> models, Integer maxConcurrent, boolean enabled) {
    }

    static Applied apply(JsonNode body, UpstreamStore.Row current, PriceTable prices) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalidRequest("The request body must be a JSON object");
        }
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String field = names.next();
            if (!FIELDS.contains(field)) {
                throw ApiException.invalidRequest(field + ": unknown field; known are " + new java.util.TreeSet<>(FIELDS));
            }
        }
        boolean create = current == null;
        String name = body.has("name") || create ? name(body) : current.name();
        String kind = body.has("kind") || create ? kind(body) : current.kind();
        String baseUrl = body.has("base_url") ? baseUrl(body) : create ? ANTHROPIC_BASE_URL : current.baseUrl();
        String apiKey = body.has("api_key") || create ? apiKey(body) : null;
        int weight = body.has("weight") ? integer(body, "weight", 1, 1000) : create ? 1 : current.weight();
        int priority = body.has("priority") ? integer(body, "priority", -1000, 1000) : create ? 0 : current.priority();
        List<String> models = body.has("models") ? models(body, prices) : create ? null : current.models();
        Integer maxConcurrent = body.has("max_concurrent")
                ? (body.get("max_concurrent").isNull() ? null : integer(body, "max_concurrent", 1, 1_000_000))
                : create ? null : current.maxConcurrent();
        boolean enabled = body.has("enabled") ? bool(body, "enabled") : create || current.enabled();
        return new Applied(name, kind, baseUrl, apiKey, weight, priority, models, maxConcurrent, enabled);
    }

    private static String name(JsonNode body) {
        String name = text(body, "name", 100);
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw ApiException.invalidRequest("name: letters, digits, '.', '_' and '-' only (it labels metrics)");
        }
        if (name.equals(Upstream.DEFAULT_NAME)) {
            throw ApiException.invalidRequest("name: \"default\" is the upstream from TOLLGATE_UPSTREAM_API_KEY");
        }
        return name;
    }

    private static String kind(JsonNode body) {
        String kind = text(body, "kind", 50);
        if (!kind.equals(Upstream.ANTHROPIC)) {
            throw ApiException.invalidRequest("kind: must be \"anthropic\" (the only kind so far)");
        }
        return kind;
    }

    private static String baseUrl(JsonNode body) {
        String url = text(body, "base_url", 500);
        try {
            UpstreamTarget.of(url, "");
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidRequest("base_url: " + (e.getMessage() == null ? "not a URL" : e.getMessage()));
        }
        return url;
    }

    private static String apiKey(JsonNode body) {
        String key = text(body, "api_key", 1000);
        if (!key.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw ApiException.invalidRequest("api_key: must be printable ASCII without spaces");
        }
        return key;
    }

    private static List<String> models(JsonNode body, PriceTable prices) {
        JsonNode node = body.get("models");
        if (node.isNull()) {
            return null;
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiException.invalidRequest("models: must be a non-empty list of model ids or aliases, or null for all");
        }
        Set<String> ids = new LinkedHashSet<>();
        for (JsonNode m : node) {
            if (!m.isTextual()) {
                throw ApiException.invalidRequest("models: every entry must be a string");
            }
            ids.add(prices.resolve(m.asText()).orElseThrow(() -> ApiException.invalidRequest(
                    "models: " + m.asText() + " is not a priced model")).price().id());
        }
        return new ArrayList<>(ids);
    }

    private static String text(JsonNode body, String field, int maxLength) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.invalidRequest(field + ": Field required");
        }
        if (!v.isTextual() || v.asText().isBlank() || v.asText().length() > maxLength) {
            throw ApiException.invalidRequest(field + ": must be a non-empty string of at most " + maxLength + " characters");
        }
        return v.asText().trim();
    }

    private static int integer(JsonNode body, String field, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < min || v.asInt() > max) {
            throw ApiException.invalidRequest(field + ": must be an integer from " + min + " to " + max);
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isBoolean()) {
            throw ApiException.invalidRequest(field + ": must be true or false");
        }
        return v.asBoolean();
    }
}
