package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Builds OpenAI-style error envelopes {@code {"error":{"message":M,"type":T,"param":P,"code":C}}}.
 *
 * <p>{@code type} and {@code code} are chosen from the HTTP status, following OpenAI conventions:
 * <table>
 *   <caption>HTTP status → OpenAI error type / code</caption>
 *   <tr><th>HTTP</th><th>{@code type}</th><th>{@code code}</th></tr>
 *   <tr><td>400</td><td>{@code invalid_request_error}</td><td>{@code null}</td></tr>
 *   <tr><td>401</td><td>{@code authentication_error}</td><td>{@code "invalid_api_key"}</td></tr>
 *   <tr><td>402</td><td>{@code insufficient_quota}</td><td>{@code "insufficient_quota"}</td></tr>
 *   <tr><td>403</td><td>{@code permission_error}</td><td>{@code null}</td></tr>
 *   <tr><td>404</td><td>{@code not_found_error}</td><td>{@code "model_not_found"} when the Anthropic type is
 *       {@code not_found_error}, else {@code null}</td></tr>
 *   <tr><td>413</td><td>{@code invalid_request_error}</td><td>{@code "request_too_large"}</td></tr>
 *   <tr><td>429</td><td>{@code rate_limit_error}</td><td>{@code "rate_limit_exceeded"}</td></tr>
 *   <tr><td>500</td><td>{@code api_error}</td><td>{@code null}</td></tr>
 *   <tr><td>504</td><td>{@code timeout_error}</td><td>{@code "timeout"}</td></tr>
 *   <tr><td>529</td><td>{@code overloaded_error}</td><td>{@code null}</td></tr>
 *   <tr><td>other 4xx</td><td>{@code invalid_request_error}</td><td>{@code null}</td></tr>
 *   <tr><td>other 5xx (and anything else)</td><td>{@code api_error}</td><td>{@code null}</td></tr>
 * </table>
 *
 * <p>{@link #statusForAnthropicType} gives the reverse lookup used for mid-stream {@code error} events,
 * whose HTTP status (200) has already been sent: Anthropic {@code error.type} → the status Anthropic
 * uses for it (digest §4.1), unknown types → 500.
 */
public final class OpenAiErrors {

    private OpenAiErrors() {
    }

    /** Envelope with {@code "param": null}. */
    public static ObjectNode envelope(int httpStatus, String anthropicErrorType, String message) {
        return envelope(httpStatus, anthropicErrorType, message, null);
    }

    /** Envelope with an explicit {@code param} (may be {@code null}). */
    public static ObjectNode envelope(int httpStatus, String anthropicErrorType, String message, String param) {
        String type;
        String code = null;
        switch (httpStatus) {
            case 400 -> type = "invalid_request_error";
            case 401 -> {
                type = "authentication_error";
                code = "invalid_api_key";
            }
            case 402 -> {
                type = "insufficient_quota";
                code = "insufficient_quota";
            }
            case 403 -> type = "permission_error";
            case 404 -> {
                type = "not_found_error";
                if ("not_found_error".equals(anthropicErrorType)) {
                    code = "model_not_found";
                }
            }
            case 413 -> {
                type = "invalid_request_error";
                code = "request_too_large";
            }
            case 429 -> {
                type = "rate_limit_error";
                code = "rate_limit_exceeded";
            }
            case 500 -> type = "api_error";
            case 504 -> {
                type = "timeout_error";
                code = "timeout";
            }
            case 529 -> type = "overloaded_error";
            default -> type = (httpStatus >= 400 && httpStatus < 500) ? "invalid_request_error" : "api_error";
        }
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.put("param", param);
        error.put("code", code);
        return root;
    }

    /** 400 envelope for a request the translator rejected, carrying its {@code param}. */
    public static ObjectNode fromRequestException(OpenAiRequestException e) {
        return envelope(400, "invalid_request_error", e.getMessage(), e.param());
    }

    /**
     * The HTTP status Anthropic uses for an {@code error.type} (digest §4.1); unknown or {@code null} → 500.
     */
    public static int statusForAnthropicType(String anthropicErrorType) {
        if (anthropicErrorType == null) {
            return 500;
        }
        return switch (anthropicErrorType) {
            case "invalid_request_error" -> 400;
            case "authentication_error" -> 401;
            case "billing_error" -> 402;
            case "permission_error" -> 403;
            case "not_found_error" -> 404;
            case "conflict_error" -> 409;
            case "request_too_large" -> 413;
            case "rate_limit_error" -> 429;
            case "api_error" -> 500;
            case "timeout_error" -> 504;
            case "overloaded_error" -> 529;
            default -> 500;
        };
    }

    /**
     * Converts an Anthropic error body ({@code {"type":"error","error":{"type":..,"message":..}}}, or just the
     * inner {@code error} object) into an OpenAI envelope. The status is derived from the Anthropic type.
     */
    public static ObjectNode fromAnthropicError(JsonNode anthropicError) {
        JsonNode err = anthropicError == null ? null : anthropicError.get("error");
        if (err == null || !err.isObject()) {
            err = anthropicError;
        }
        String type = textOrNull(err, "type");
        String message = textOrNull(err, "message");
        if (message == null) {
            message = "Upstream error" + (type == null ? "" : " (" + type + ")");
        }
        return envelope(statusForAnthropicType(type), type, message);
    }

    private static String textOrNull(JsonNode node, String field) {
        if (node == null) {
            return null;
        }
        JsonNode v = node.get(field);
        return v != null && v.isTextual() ? v.asText() : null;
    }
}
