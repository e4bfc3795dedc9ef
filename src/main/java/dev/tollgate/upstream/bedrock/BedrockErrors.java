package dev.tollgate.upstream.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.upstream.AnthropicBody;

import java.io.IOException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Bedrock's errors as Anthropic's. Before a stream: the status and {@code x-amzn-ErrorType} of an
 * AWS rest-json error. Within one: an exception frame's {@code :exception-type}. Throttling is a
 * 429, capacity a 529 / 503 (both tried on another upstream by the pool), a refused credential or
 * missing model access a 403 (the upstream's credential is bad: it cools down), validation a 400
 * with AWS's message unless it names the operator's account.
 */
public final class BedrockErrors {

    /** An Anthropic status, error type and message. */
    public record Mapped(int status, String type, String message) {

        public byte[] envelope() {
            return AnthropicBody.error(type, message);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** ARNs and 12-digit account ids: the operator's AWS account, never shown to a customer. */
    private static final Pattern ABOUT_THE_ACCOUNT = Pattern.compile("arn:aws|\\b\\d{12}\\b|account", Pattern.CASE_INSENSITIVE);

    private BedrockErrors() {
    }

    /** A pre-stream error answer: its HTTP status, x-amzn-ErrorType header (may be null) and body. */
    public static Mapped of(int status, String errorTypeHeader, byte[] body) {
        String message = null;
        String name = errorTypeHeader;
        try {
            JsonNode json = body == null || body.length == 0 ? null : JSON.readTree(body);
            if (json != null) {
                message = json.hasNonNull("message") ? json.get("message").asText()
                        : json.hasNonNull("Message") ? json.get("Message").asText() : null;
                if (name == null) {
                    name = json.hasNonNull("__type") ? json.get("__type").asText()
                            : json.hasNonNull("code") ? json.get("code").asText() : null;
                }
            }
        } catch (IOException e) {
            // not JSON (a proxy's page): described by its status alone
        }
        return map(exceptionName(name), status, message);
    }

    /** The exception's short name: {@code ValidationException:http://...} and {@code aws#ValidationException} both give ValidationException. */
    static String exceptionName(String raw) {
        if (raw == null) {
            return "";
        }
        String name = raw;
        int colon = name.indexOf(':');
        if (colon >= 0) {
            name = name.substring(0, colon);
        }
        int hash = name.lastIndexOf('#');
        return hash >= 0 ? name.substring(hash + 1) : name;
    }

    private static Mapped map(String name, int status, String awsMessage) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "validationexception" -> invalid(awsMessage);
            case "accessdeniedexception", "unrecognizedclientexception", "invalidsignatureexception",
                 "expiredtokenexception", "incompletesignatureexception", "missingauthenticationtokenexception",
                 "invalidclienttokenid" -> credential();
            case "resourcenotfoundexception" -> new Mapped(404, "not_found_error",
                    "model: not available through this upstream (Amazon Bedrock)");
            case "throttlingexception", "servicequotaexceededexception", "toomanyrequestsexception" -> throttled();
            case "serviceunavailableexception" -> new Mapped(529, "overloaded_error", "The upstream Claude API is overloaded; retry later");
            case "modelnotreadyexception" -> new Mapped(503, "overloaded_error", "The model is not ready on the upstream; retry shortly");
            case "modeltimeoutexception" -> new Mapped(504, "timeout_error", "The upstream Claude API timed out while processing the request");
            case "conflictexception" -> new Mapped(409, "conflict_error", "The upstream Claude API reported a conflict; retry later");
            case "modelerrorexception", "modelstreamerrorexception", "internalserverexception" -> internal();
            default -> byStatus(status, awsMessage);
        };
    }

    private static Mapped byStatus(int status, String awsMessage) {
        if (status == 401 || status == 403) {
            return credential();
        }
        if (status == 404) {
            return new Mapped(404, "not_found_error", "model: not available through this upstream (Amazon Bedrock)");
        }
        if (status == 429) {
            return throttled();
        }
        if (status == 503) {
            return new Mapped(529, "overloaded_error", "The upstream Claude API is overloaded; retry later");
        }
        if (status >= 400 && status < 500) {
            return invalid(awsMessage);
        }
        return internal();
    }

    private static Mapped invalid(String awsMessage) {
        boolean shown = awsMessage != null && !awsMessage.isBlank() && !ABOUT_THE_ACCOUNT.matcher(awsMessage).find();
        return new Mapped(400, "invalid_request_error", shown ? awsMessage
                : "The upstream (Amazon Bedrock) refused the request as invalid");
    }

    private static Mapped credential() {
        return new Mapped(403, "permission_error", "The upstream refused the gateway's credential");
    }

    private static Mapped throttled() {
        return new Mapped(429, "rate_limit_error", "The upstream Claude API is rate limiting this gateway; retry later");
    }

    private static Mapped internal() {
        return new Mapped(500, "api_error", "The upstream Claude API had an internal error; retry later");
    }

    /** A stream's exception frame ({@code :exception-type}, camelCase member name) as an Anthropic error type and message. */
    public static Mapped streamException(String exceptionType) {
        return switch (exceptionType == null ? "" : exceptionType.toLowerCase(Locale.ROOT)) {
            case "throttlingexception" -> throttled();
            case "serviceunavailableexception" -> new Mapped(529, "overloaded_error", "Overloaded");
            case "modeltimeoutexception" -> new Mapped(504, "timeout_error", "The model timed out while streaming");
            case "validationexception" -> new Mapped(400, "invalid_request_error", "The upstream refused the request as invalid");
            default -> new Mapped(500, "api_error", "The upstream Claude API had an internal error mid-stream");
        };
    }
}
