package dev.tollgate.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one typed error of Tollgate. Thrown anywhere, mapped once at the edge: to the Anthropic
 * envelope on the Anthropic surface and admin API, to the OpenAI envelope on /v1/chat/completions.
 */
public class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private String detailsErrorCode;

    public ApiException(int status, String type, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
    }

    public static ApiException invalidRequest(String message) {
        return new ApiException(400, "invalid_request_error", message);
    }

    public static ApiException authentication(String message) {
        return new ApiException(401, "authentication_error", message);
    }

    public static ApiException permission(String message) {
        return new ApiException(403, "permission_error", message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found_error", message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "request_too_large", message);
    }

    public static ApiException upstreamUnavailable(String message) {
        return new ApiException(502, "api_error", message);
    }

    public static ApiException upstreamTimeout(String message) {
        return new ApiException(504, "timeout_error", message);
    }

    public ApiException header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    public ApiException errorCode(String code) {
        this.detailsErrorCode = code;
        return this;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public Map<String, String> headers() {
        return headers;
    }

    /** Value of {@code error.details.error_code}, or null. */
    public String detailsErrorCode() {
        return detailsErrorCode;
    }
}
