package dev.tollgate.upstream.pool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.upstream.AnthropicDialect;
import dev.tollgate.upstream.UpstreamDialect;
import dev.tollgate.upstream.UpstreamTarget;
import dev.tollgate.upstream.bedrock.BedrockDialect;
import dev.tollgate.upstream.vertex.VertexDialect;
import dev.tollgate.upstream.vertex.VertexModels;

import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What each kind of upstream is made of: its fields in the admin API (checked here, each bad value
 * a 400 naming it), the secret sealed for it (an Anthropic key; AWS keys or a Bedrock API key as
 * JSON; a service account's key file), the settings kept in clear, and the dialect built from them.
 */
final class UpstreamKinds {

    static final Set<String> KINDS = Set.of(Upstream.ANTHROPIC, Upstream.BEDROCK, Upstream.VERTEX);
    /** The fields of each kind beyond the common ones. */
    static final Map<String, Set<String>> FIELDS = Map.of(
            Upstream.ANTHROPIC, Set.of("api_key"),
            Upstream.BEDROCK, Set.of("region", "access_key_id", "secret_access_key", "session_token", "api_key",
                    "inference_profile"),
            Upstream.VERTEX, Set.of("region", "project_id", "service_account_json", "token_url"));
    private static final Set<String> BEDROCK_SECRETS = Set.of("access_key_id", "secret_access_key", "session_token",
            "api_key");
    private static final ObjectMapper JSON = new ObjectMapper();

    private UpstreamKinds() {
    }

    /** A new secret in clear (null: the stored one stays) and the hint shown for it. */
    record Secret(String clear, String hint) {
    }

    /** Checks that every field given belongs to {@code kind}. */
    static void checkFields(JsonNode body, String kind) {
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String field = names.next();
            if (!UpstreamFields.COMMON.contains(field) && !FIELDS.get(kind).contains(field)) {
                List<String> kinds = FIELDS.entrySet().stream().filter(e -> e.getValue().contains(field))
                        .map(Map.Entry::getKey).sorted().toList();
                throw ApiException.invalidRequest(field + ": only for " + String.join(" and ", kinds) + " upstreams");
            }
        }
    }

    /**
     * The settings of {@code kind} from {@code body} over {@code current} (empty for a new upstream or
     * a new kind), and the new secret if one is given ({@code required}: it must be).
     */
    static Secret apply(String kind, JsonNode body, ObjectNode settings, boolean required) {
        return switch (kind) {
            case Upstream.BEDROCK -> bedrock(body, settings, required);
            case Upstream.VERTEX -> vertex(body, settings, required);
            default -> body.has("api_key") || required ? anthropicKey(body) : new Secret(null, null);
        };
    }

    private static Secret anthropicKey(JsonNode body) {
        String key = UpstreamFields.text(body, "api_key", 1000);
        printable("api_key", key);
        return new Secret(key, Upstream.hint(key));
    }

    private static Secret bedrock(JsonNode body, ObjectNode settings, boolean required) {
        if (body.has("region") || required) {
            String region = UpstreamFields.text(body, "region", 40);
            if (!region.matches("[a-z]{2}(-[a-z]+)+-\\d{1,2}")) {
                throw ApiException.invalidRequest("region: must be an AWS region such as us-east-1");
            }
            settings.put("region", region);
        }
        if (body.has("inference_profile")) {
            if (body.get("inference_profile").isNull()) {
                settings.remove("inference_profile");
            } else {
                String profile = UpstreamFields.text(body, "inference_profile", 20);
                if (!profile.matches("[a-z]{2,8}(-[a-z]{2,8})?")) {
                    throw ApiException.invalidRequest("inference_profile: must be a cross-region inference profile"
                            + " prefix such as global, us, eu, jp, apac (or null for in-region model ids)");
                }
                settings.put("inference_profile", profile);
            }
        }
        boolean given = BEDROCK_SECRETS.stream().anyMatch(body::has);
        if (!given && !required) {
            return new Secret(null, null);
        }
        ObjectNode secret = JSON.createObjectNode();
        String hint;
        if (body.has("api_key")) {
            for (String other : List.of("access_key_id", "secret_access_key", "session_token")) {
                if (body.has(other)) {
                    throw ApiException.invalidRequest(other + ": give either api_key or access_key_id and"
                            + " secret_access_key, not both");
                }
            }
            String key = UpstreamFields.text(body, "api_key", 4000);
            printable("api_key", key);
            secret.put("api_key", key);
            settings.put("auth", "api_key");
            hint = Upstream.hint(key);
        } else {
            String id = UpstreamFields.text(body, "access_key_id", 128);
            if (!id.matches("[A-Z0-9]{16,128}")) {
                throw ApiException.invalidRequest("access_key_id: must be an AWS access key id such as AKIA...");
            }
            String key = UpstreamFields.text(body, "secret_access_key", 256);
            printable("secret_access_key", key);
            secret.put("access_key_id", id).put("secret_access_key", key);
            if (body.has("session_token") && !body.get("session_token").isNull()) {
                String token = UpstreamFields.text(body, "session_token", 4096);
                printable("session_token", token);
                secret.put("session_token", token);
            }
            settings.put("auth", "sigv4");
            hint = Upstream.hint(id);
        }
        return new Secret(secret.toString(), hint);
    }

    private static Secret vertex(JsonNode body, ObjectNode settings, boolean required) {
        if (body.has("project_id") || required) {
            String project = UpstreamFields.text(body, "project_id", 30);
            if (!project.matches("[a-z][a-z0-9-]{4,28}[a-z0-9]")) {
                throw ApiException.invalidRequest("project_id: must be a Google Cloud project id (6 to 30 lowercase"
                        + " letters, digits and hyphens)");
            }
            settings.put("project_id", project);
        }
        if (body.has("region") || required) {
            String region = UpstreamFields.text(body, "region", 40);
            if (!region.equals("global") && !region.equals("us") && !region.equals("eu")
                    && !region.matches("[a-z]+-[a-z]+\\d{1,2}")) {
                throw ApiException.invalidRequest("region: must be global, us, eu or a Google Cloud region such as"
                        + " us-east5");
            }
            settings.put("region", region);
        }
        if (body.has("token_url")) {
            if (body.get("token_url").isNull()) {
                settings.remove("token_url");
            } else {
                settings.put("token_url", UpstreamFields.url(body, "token_url"));
            }
        }
        if (!body.has("service_account_json") && !required) {
            return new Secret(null, null);
        }
        JsonNode node = body.get("service_account_json");
        String json;
        if (node != null && node.isObject()) {
            json = node.toString();
        } else {
            json = UpstreamFields.text(body, "service_account_json", 20_000);
        }
        String email;
        String keyId;
        try {
            email = VertexDialect.clientEmail(json);
            keyId = JSON.readTree(json).path("private_key_id").asText("");
        } catch (IllegalArgumentException | IOException e) {
            throw ApiException.invalidRequest("service_account_json: " + (e.getMessage() == null ? "not a key file"
                    : e.getMessage()));
        }
        settings.put("client_email", email);
        return new Secret(json, keyId.isEmpty() ? "…" : Upstream.hint(keyId));
    }

    private static void printable(String field, String value) {
        if (!value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw ApiException.invalidRequest(field + ": must be printable ASCII without spaces");
        }
    }

    /** The base URL of a kind when none is given. */
    static String defaultBaseUrl(String kind, ObjectNode settings) {
        return switch (kind) {
            case Upstream.BEDROCK -> BedrockDialect.defaultBaseUrl(settings.path("region").asText());
            case Upstream.VERTEX -> VertexModels.defaultBaseUrl(settings.path("region").asText());
            default -> UpstreamFields.ANTHROPIC_BASE_URL;
        };
    }

    static ObjectNode settings(String stored) {
        try {
            JsonNode node = stored == null ? null : JSON.readTree(stored);
            return node instanceof ObjectNode object ? object : JSON.createObjectNode();
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    static Map<String, String> modelMap(ObjectNode settings) {
        Map<String, String> map = new LinkedHashMap<>();
        settings.path("model_map").fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
        return map;
    }

    /** Where calls go and how: the address (with the key, for the anthropic kind) and the dialect. */
    record Built(UpstreamTarget target, UpstreamDialect dialect) {
    }

    /** @throws IllegalArgumentException when the stored secret or settings do not make an upstream */
    static Built build(String kind, String baseUrl, String secret, ObjectNode settings) {
        switch (kind) {
            case Upstream.BEDROCK -> {
                JsonNode s = readSecret(secret);
                String apiKey = s.hasNonNull("api_key") ? s.get("api_key").asText() : null;
                BedrockDialect dialect = new BedrockDialect(baseUrl, settings.path("region").asText(),
                        apiKey != null ? null : BedrockDialect.credentials(s.path("access_key_id").asText(),
                                s.path("secret_access_key").asText(), s.hasNonNull("session_token")
                                        ? s.get("session_token").asText() : null),
                        apiKey, settings.hasNonNull("inference_profile") ? settings.get("inference_profile").asText() : null,
                        modelMap(settings));
                return new Built(UpstreamTarget.of(baseUrl, ""), dialect);
            }
            case Upstream.VERTEX -> {
                VertexDialect dialect = new VertexDialect(baseUrl, settings.path("project_id").asText(),
                        settings.path("region").asText(), secret,
                        settings.hasNonNull("token_url") ? settings.get("token_url").asText() : null, modelMap(settings));
                return new Built(UpstreamTarget.of(baseUrl, ""), dialect);
            }
            default -> {
                UpstreamTarget target = UpstreamTarget.of(baseUrl, secret);
                return new Built(target, new AnthropicDialect(target));
            }
        }
    }

    private static JsonNode readSecret(String secret) {
        try {
            return JSON.readTree(secret);
        } catch (IOException e) {
            throw new IllegalArgumentException("the stored credential is not JSON");
        }
    }
}
