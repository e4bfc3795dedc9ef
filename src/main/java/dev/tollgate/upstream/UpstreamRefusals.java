package dev.tollgate.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.api.ApiException;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.util.regex.Pattern;

/**
 * What a customer sees of the upstream refusing a call (a non-200 answer). The upstream speaks to
 * the operator: its texts name the operator's organization and its id, workspaces, credit balance,
 * spend limits and rate limits. Status and {@code error.type} are kept, so clients and SDKs retry
 * and branch as they would on Claude; the message is kept only where the customer needs it to fix
 * their own request and it says nothing about the operator's account:
 * <ul>
 *   <li>{@code invalid_request_error}, {@code not_found_error}, {@code request_too_large}: passed
 *       through unless {@link #ABOUT_THE_ACCOUNT} matches (e.g. "Your credit balance is too low",
 *       "You have reached your specified API usage limits");</li>
 *   <li>every other type, and any body that is not the Anthropic envelope: our own text;</li>
 *   <li>a 401 is about the operator's key, never the customer's: a 502.</li>
 * </ul>
 * The retry hints ({@link #PASSED_HEADERS}) are kept; nothing else of the upstream's headers is.
 */
public final class UpstreamRefusals {

    /** Upstream response headers a client may act on (retry policy); nothing that names the operator's account. */
    public static final String[] PASSED_HEADERS = {"retry-after", "retry-after-ms", "x-should-retry"};

    /** Words and ids of the operator's account and its billing; a UUID is how an organization id appears. */
    static final Pattern ABOUT_THE_ACCOUNT = Pattern.compile("organi[sz]ation|workspace|wrkspc_|\\borg[_-]|credit"
            + "|billing|\\bbalance\\b|usage limit|spend|\\btier\\b|contact sales|console\\.anthropic|plans & billing"
            + "|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", Pattern.CASE_INSENSITIVE);

    private static final String OPERATORS_ACCOUNT = "The upstream Claude API refused the call because of the"
            + " gateway operator's account, not yours; nothing was charged";
    private static final ObjectMapper JSON = new ObjectMapper();

    private UpstreamRefusals() {
    }

    /** The refusal as the error to send: the upstream's status (but 401), error type and retry hints. */
    public static ApiException refusal(int status, MultiMap upstreamHeaders, Buffer body) {
        if (status == 401) {
            // The upstream rejected the operator's key, not the client's: a 401 passed through would
            // tell the customer their own key is invalid.
            return ApiException.upstreamUnavailable(
                    "The upstream Claude API rejected the gateway's credentials; the operator must fix them");
        }
        JsonNode error = errorObject(body);
        String type = error != null && error.path("type").isTextual() ? error.path("type").asText() : typeOf(status);
        String message = error != null && error.path("message").isTextual() ? error.path("message").asText() : null;
        ApiException refusal = new ApiException(status, type, shown(status, type, message));
        for (String name : PASSED_HEADERS) {
            String value = upstreamHeaders.get(name);
            if (value != null) {
                refusal.header(name, value);
            }
        }
        return refusal;
    }

    /** The upstream's message where the customer may see it, else ours. */
    static String shown(int status, String type, String upstreamMessage) {
        boolean theCustomersToFix = "invalid_request_error".equals(type) || "not_found_error".equals(type)
                || "request_too_large".equals(type);
        boolean hasText = upstreamMessage != null && !upstreamMessage.isBlank();
        if (theCustomersToFix && hasText) {
            return ABOUT_THE_ACCOUNT.matcher(upstreamMessage).find() ? OPERATORS_ACCOUNT : upstreamMessage;
        }
        return switch (type) {
            case "billing_error" -> OPERATORS_ACCOUNT;
            case "rate_limit_error" -> "The upstream Claude API is rate limiting this gateway; retry later";
            case "overloaded_error" -> "The upstream Claude API is overloaded; retry later";
            case "api_error" -> "The upstream Claude API had an internal error; retry later";
            case "timeout_error" -> "The upstream Claude API timed out while processing the request";
            case "permission_error" -> "The upstream Claude API does not let this gateway make this request";
            case "conflict_error" -> "The upstream Claude API reported a conflict; retry later";
            default -> "The upstream Claude API refused the call (HTTP " + status + ")";
        };
    }

    private static JsonNode errorObject(Buffer body) {
        if (body == null || body.length() == 0) {
            return null;
        }
        try {
            JsonNode error = JSON.readTree(body.getBytes()).get("error");
            return error != null && error.isObject() ? error : null;
        } catch (IOException e) {
            return null; // not JSON (a proxy's page): described by its status alone
        }
    }

    /** Anthropic's error type for a status, for bodies that do not carry one (digest §4.1). */
    private static String typeOf(int status) {
        return switch (status) {
            case 402 -> "billing_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 409 -> "conflict_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 504 -> "timeout_error";
            case 529 -> "overloaded_error";
            default -> status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
        };
    }
}
