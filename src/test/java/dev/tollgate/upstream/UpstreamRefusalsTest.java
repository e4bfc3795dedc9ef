package dev.tollgate.upstream;

import dev.tollgate.api.ApiException;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The rule for what a customer sees of an upstream refusal, with the upstream's real texts (digest §4). */
class UpstreamRefusalsTest {

    private static ApiException refusal(int status, String type, String message) {
        String body = "{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"" + message
                + "\"},\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}";
        return UpstreamRefusals.refusal(status, MultiMap.caseInsensitiveMultiMap(), Buffer.buffer(body));
    }

    private static void assertReplaced(int status, String type, String message) {
        ApiException shown = refusal(status, type, message);
        assertEquals(status, shown.status());
        assertEquals(type, shown.type());
        assertNotEquals(message, shown.getMessage(), "must not be passed through");
        for (String leak : List.of("organization", "3f1c8a52", "credit", "wrkspc_", "usage limit", "api key")) {
            assertFalse(shown.getMessage().toLowerCase(Locale.ROOT).contains(leak), shown.getMessage());
        }
    }

    @Test
    void validationMessagesTheCustomerNeedsArePassedThrough() {
        String tooMany = "A maximum of 4 blocks with cache_control may be provided. Found 5.";
        assertEquals(tooMany, refusal(400, "invalid_request_error", tooMany).getMessage());
        assertEquals("model: claude-typo", refusal(404, "not_found_error", "model: claude-typo").getMessage());
        assertEquals("prompt is too long: 215000 tokens > 200000 maximum",
                refusal(400, "invalid_request_error", "prompt is too long: 215000 tokens > 200000 maximum").getMessage());
    }

    @Test
    void textsAboutTheOperatorsAccountAreReplacedKeepingStatusAndType() {
        assertReplaced(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. "
                + "Please go to Plans & Billing to upgrade or purchase credits.");
        assertReplaced(400, "invalid_request_error",
                "You have reached your specified API usage limits. You will regain access on 2026-10-01 at 00:00 UTC.");
        assertReplaced(429, "rate_limit_error", "This request would exceed the rate limit for your organization "
                + "(3f1c8a52-6d0e-4b7a-9c21-5e8f0d4b7a13) of 30,000 input tokens per minute. For details, refer to: "
                + "https://docs.claude.com/en/api/rate-limits.");
        assertReplaced(429, "rate_limit_error", "You have reached your API usage limits: your organization has "
                + "crossed its monthly API usage threshold, set based on your organization's API tier.");
        assertReplaced(400, "invalid_request_error", "Workspace wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ is archived");
        assertReplaced(403, "permission_error", "Your API key does not have permission to use the specified resource.");
        assertReplaced(402, "billing_error", "Your organization has an unpaid invoice.");
        assertReplaced(529, "overloaded_error", "Overloaded");
        assertReplaced(500, "api_error", "Internal server error");
    }

    @Test
    void theUpstreamRejectingTheOperatorsKeyIsA502NotTheCustomers401() {
        ApiException shown = refusal(401, "authentication_error", "invalid x-api-key");
        assertEquals(502, shown.status());
        assertEquals("api_error", shown.type());
        assertEquals("The upstream Claude API rejected the gateway's credentials; the operator must fix them",
                shown.getMessage());
    }

    @Test
    void aBodyThatIsNotTheEnvelopeIsDescribedByItsStatus() {
        ApiException shown = UpstreamRefusals.refusal(502, MultiMap.caseInsensitiveMultiMap(),
                Buffer.buffer("<html>502 Bad Gateway</html>"));
        assertEquals("api_error", shown.type());
        assertEquals("The upstream Claude API had an internal error; retry later", shown.getMessage());
        assertEquals("request_too_large",
                UpstreamRefusals.refusal(413, MultiMap.caseInsensitiveMultiMap(), null).type());
    }

    @Test
    void onlyTheRetryHintsOfTheHeadersAreKept() {
        MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("retry-after", "7").add("x-should-retry", "true")
                .add("anthropic-organization-id", "3f1c8a52-6d0e-4b7a-9c21-5e8f0d4b7a13")
                .add("anthropic-ratelimit-tokens-limit", "30000");
        ApiException shown = UpstreamRefusals.refusal(429, headers, Buffer.buffer("{}"));
        assertEquals("7", shown.headers().get("retry-after"));
        assertEquals("true", shown.headers().get("x-should-retry"));
        assertNull(shown.headers().get("anthropic-organization-id"));
        assertNull(shown.headers().get("anthropic-ratelimit-tokens-limit"));
    }
}
