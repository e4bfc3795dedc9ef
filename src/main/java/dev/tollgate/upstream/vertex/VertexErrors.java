package dev.tollgate.upstream.vertex;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.upstream.AnthropicBody;

import java.io.IOException;
import java.util.Locale;

/**
 * Vertex AI's errors as Anthropic's (digest §2.6). An Anthropic-shaped error (the model's own,
 * e.g. a 400 invalid_request_error) passes as it is. A Google-shaped one
 * ({@code {"error":{"code","message","status"}}}, sometimes inside an array) is mapped by its
 * status: RESOURCE_EXHAUSTED a 429, UNAVAILABLE a 529 (both tried on another upstream), a refused
 * token or permission a 401 / 403 (the upstream's credential is bad: it cools down), NOT_FOUND (the
 * model not enabled in that project or region) a 404; Google's message is shown only for
 * INVALID_ARGUMENT, and only when it names no project.
 */
final class VertexErrors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private VertexErrors() {
    }

    /** The Anthropic status of an error answer and its Anthropic body. */
    record Mapped(int status, byte[] body) {
    }

    static Mapped of(int status, byte[] body) {
        JsonNode json = null;
        try {
            json = body == null || body.length == 0 ? null : JSON.readTree(body);
        } catch (IOException e) {
            // not JSON: by status alone
        }
        if (json != null && json.isArray() && !json.isEmpty()) {
            json = json.get(0);
        }
        if (json != null && "error".equals(json.path("type").asText()) && json.path("error").isObject()) {
            return new Mapped(status, body); // Anthropic's own envelope, from the model
        }
        JsonNode error = json == null ? null : json.path("error");
        String googleStatus = error == null ? "" : error.path("status").asText("");
        String message = error == null ? null : error.path("message").asText(null);
        return switch (googleStatus.isEmpty() ? byCode(status) : googleStatus.toUpperCase(Locale.ROOT)) {
            case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE" -> new Mapped(400,
                    AnthropicBody.error("invalid_request_error", message != null && !message.isBlank()
                            && !message.contains("projects/") && !message.toLowerCase(Locale.ROOT).contains("project")
                            ? message : "The upstream (Vertex AI) refused the request as invalid"));
            case "UNAUTHENTICATED" -> new Mapped(401, AnthropicBody.error("authentication_error",
                    "The upstream refused the gateway's credential"));
            case "PERMISSION_DENIED" -> new Mapped(403, AnthropicBody.error("permission_error",
                    "The upstream refused the gateway's credential"));
            case "NOT_FOUND" -> new Mapped(404, AnthropicBody.error("not_found_error",
                    "model: not available through this upstream (Vertex AI)"));
            case "RESOURCE_EXHAUSTED" -> new Mapped(429, AnthropicBody.error("rate_limit_error",
                    "The upstream Claude API is rate limiting this gateway; retry later"));
            case "UNAVAILABLE" -> new Mapped(529, AnthropicBody.error("overloaded_error",
                    "The upstream Claude API is overloaded; retry later"));
            case "DEADLINE_EXCEEDED" -> new Mapped(504, AnthropicBody.error("timeout_error",
                    "The upstream Claude API timed out while processing the request"));
            default -> new Mapped(500, AnthropicBody.error("api_error",
                    "The upstream Claude API had an internal error; retry later"));
        };
    }

    private static String byCode(int status) {
        return switch (status) {
            case 400 -> "INVALID_ARGUMENT";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 429 -> "RESOURCE_EXHAUSTED";
            case 503, 529 -> "UNAVAILABLE";
            case 504 -> "DEADLINE_EXCEEDED";
            default -> "INTERNAL";
        };
    }
}
