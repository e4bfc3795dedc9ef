package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Money;
import dev.tollgate.limits.LimitSettings;

import java.util.function.Consumer;

/**
 * Reads the limit fields shared by keys and accounts from a create or PATCH body. A field that
 * is absent is left alone; an explicit null removes the limit.
 */
final class LimitFields {

    private LimitFields() {
    }

    static void apply(JsonNode body, LimitSettings target) {
        count(body, "requests_per_minute", v -> target.requestsPerMinute = v == null ? null : Math.toIntExact(v));
        count(body, "tokens_per_minute", v -> target.tokensPerMinute = v);
        count(body, "max_concurrent", v -> target.maxConcurrent = v == null ? null : Math.toIntExact(v));
        usd(body, "daily_spend_limit_usd", v -> target.dailySpendLimit = v);
        usd(body, "monthly_spend_limit_usd", v -> target.monthlySpendLimit = v);
        usd(body, "lifetime_spend_limit_usd", v -> target.lifetimeSpendLimit = v);
    }

    private static void count(JsonNode body, String field, Consumer<Long> set) {
        if (!body.has(field)) {
            return;
        }
        JsonNode v = body.get(field);
        if (v.isNull()) {
            set.accept(null);
            return;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asLong() < 1) {
            throw ApiException.invalidRequest(field + ": must be a positive integer up to 2147483647, or null for no limit");
        }
        set.accept(v.asLong());
    }

    private static void usd(JsonNode body, String field, Consumer<Long> set) {
        if (body.has(field)) {
            set.accept(Json.usd(body, field, false)); // null removes the limit
        }
    }

    static String usd(Long nanos) {
        return nanos == null ? null : Money.format(nanos);
    }
}
