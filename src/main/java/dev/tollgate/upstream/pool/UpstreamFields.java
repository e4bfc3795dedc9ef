package dev.tollgate.upstream.pool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.upstream.UpstreamTarget;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
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

    /** The fields of every kind; each kind adds its own (UpstreamKinds.FIELDS). */
    static final Set<String> COMMON = Set.of("name", "kind", "base_url", "weight", "priority", "models",
            "max_concurrent", "enabled", "model_map", "price_multiplier");
    static final Set<String> FIELDS;

    static {
        Set<String> all = new HashSet<>(COMMON);
        UpstreamKinds.FIELDS.values().forEach(all::addAll);
        FIELDS = Set.copyOf(all);
    }
    static final String ANTHROPIC_BASE_URL = "https://api.anthropic.com";

    private UpstreamFields() {
    }

    /**
     * The settings of {@code body} over {@code current} (null for a new upstream); {@code secret}: a new
     * credential in clear (null: the stored one stays), {@code keyHint} its hint.
     */
    record Applied(String name, String kind, String baseUrl, String secret, String keyHint, int weight, int priority,
                   List<String> models, Integer maxConcurrent, boolean enabled, ObjectNode settings,
                   BigDecimal priceMultiplier) {
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
        UpstreamKinds.checkFields(body, kind);
        boolean fresh = create || !kind.equals(current.kind());
        ObjectNode before = fresh ? UpstreamKinds.settings(null) : UpstreamKinds.settings(current.settings());
        ObjectNode settings = before.deepCopy();
        UpstreamKinds.Secret secret = UpstreamKinds.apply(kind, body, settings, fresh);
        modelMap(body, kind, settings, prices);
        String baseUrl;
        if (body.has("base_url")) {
            baseUrl = url(body, "base_url");
        } else if (fresh || current.baseUrl().equals(UpstreamKinds.defaultBaseUrl(kind, before))) {
            baseUrl = UpstreamKinds.defaultBaseUrl(kind, settings); // follows a new region
        } else {
            baseUrl = current.baseUrl();
        }
        BigDecimal multiplier = body.has("price_multiplier") ? priceMultiplier(body)
                : create ? BigDecimal.ONE : current.priceMultiplier();
        int weight = body.has("weight") ? integer(body, "weight", 1, 1000) : create ? 1 : current.weight();
        int priority = body.has("priority") ? integer(body, "priority", -1000, 1000) : create ? 0 : current.priority();
        List<String> models = body.has("models") ? models(body, prices) : create ? null : current.models();
        Integer maxConcurrent = body.has("max_concurrent")
                ? (body.get("max_concurrent").isNull() ? null : integer(body, "max_concurrent", 1, 1_000_000))
                : create ? null : current.maxConcurrent();
        boolean enabled = body.has("enabled") ? bool(body, "enabled") : create || current.enabled();
        return new Applied(name, kind, baseUrl, secret.clear(), secret.hint(), weight, priority, models, maxConcurrent,
                enabled, settings, multiplier);
    }

    private static void modelMap(JsonNode body, String kind, ObjectNode settings, PriceTable prices) {
        if (!body.has("model_map")) {
            return;
        }
        JsonNode node = body.get("model_map");
        if (node.isNull()) {
            settings.remove("model_map");
            return;
        }
        if (kind.equals(Upstream.ANTHROPIC)) {
            throw ApiException.invalidRequest("model_map: only for bedrock and vertex upstreams (an anthropic upstream"
                    + " is called with the model ids of the price table)");
        }
        if (!node.isObject() || node.isEmpty()) {
            throw ApiException.invalidRequest("model_map: must be an object of model id to the upstream's model id,"
                    + " or null");
        }
        ObjectNode map = settings.objectNode();
        for (Iterator<java.util.Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            String id = prices.resolve(e.getKey()).orElseThrow(() -> ApiException.invalidRequest(
                    "model_map: " + e.getKey() + " is not a priced model")).price().id();
            JsonNode value = e.getValue();
            if (!value.isTextual() || value.asText().isEmpty() || value.asText().length() > 300
                    || !value.asText().chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '?' && c != '#')) {
                throw ApiException.invalidRequest("model_map: " + e.getKey() + " must map to a model id of the upstream"
                        + " (printable ASCII, no spaces, at most 300 characters)");
            }
            map.put(id, value.asText());
        }
        settings.set("model_map", map);
    }

    private static BigDecimal priceMultiplier(JsonNode body) {
        JsonNode v = body.get("price_multiplier");
        BigDecimal m;
        try {
            m = v != null && v.isTextual() ? new BigDecimal(v.asText().trim()) : null;
        } catch (NumberFormatException e) {
            m = null;
        }
        if (m == null || m.signum() <= 0 || m.compareTo(BigDecimal.valueOf(100)) > 0 || m.stripTrailingZeros().scale() > 6) {
            throw ApiException.invalidRequest("price_multiplier: must be a decimal string greater than 0 and at most"
                    + " 100, with at most 6 decimals, such as \"1.10\"");
        }
        return m.stripTrailingZeros().scale() < 0 ? m.setScale(0) : m.stripTrailingZeros();
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
        if (!UpstreamKinds.KINDS.contains(kind)) {
            throw ApiException.invalidRequest("kind: must be \"anthropic\", \"bedrock\" or \"vertex\"");
        }
        return kind;
    }

    static String url(JsonNode body, String field) {
        String url = text(body, field, 500);
        try {
            UpstreamTarget.of(url, "");
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidRequest(field + ": " + (e.getMessage() == null ? "not a URL" : e.getMessage()));
        }
        return url;
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

    static String text(JsonNode body, String field, int maxLength) {
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
