package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** The expiry a credit may carry: {@code expires_at} or {@code credit_expires_in_days}, making it a credit lot. */
final class CreditExpiryFields {

    static final int MAX_DAYS = 3650;

    private CreditExpiryFields() {
    }

    /** The expiry as the request gave it, for the idempotency check (days count from the first request). */
    static String asGiven(JsonNode body) {
        return body.path("expires_at").asText("") + "|" + body.path("credit_expires_in_days").asText("");
    }

    /** When the credit of {@code amount} expires, or null when it does not; 400 naming the field when invalid. */
    static Instant expiresAt(JsonNode body, long amount) {
        Instant at = Json.optionalInstant(body, "expires_at");
        JsonNode days = body.get("credit_expires_in_days");
        boolean hasDays = days != null && !days.isNull();
        if (at != null && hasDays) {
            throw ApiException.invalidRequest("credit_expires_in_days: give either expires_at or credit_expires_in_days, not both");
        }
        if (hasDays) {
            if (!days.isIntegralNumber() || !days.canConvertToInt() || days.asInt() < 1 || days.asInt() > MAX_DAYS) {
                throw ApiException.invalidRequest("credit_expires_in_days: must be an integer from 1 to " + MAX_DAYS);
            }
            at = Instant.now().plus(days.asInt(), ChronoUnit.DAYS);
        }
        if (at == null) {
            return null;
        }
        if (amount <= 0) {
            throw ApiException.invalidRequest((hasDays ? "credit_expires_in_days" : "expires_at")
                    + ": only a credit (a positive amount_usd) can expire");
        }
        if (!at.isAfter(Instant.now())) {
            throw ApiException.invalidRequest("expires_at: must be in the future");
        }
        return at.truncatedTo(ChronoUnit.MICROS);
    }
}
