package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Money;

import java.util.function.Consumer;

/**
 * Reads the limit fields shared by keys and accounts from a create or PATCH body. A field that
 * is absent is left alone; an explicit null removes the limit.
 */
final class LimitFields {

    private LimitFields() {
    }

    /** The setters of one subject's limits. */
    record Target(Consumer<Integer> requestsPerMinute, Consumer<Long> tokensPerMinute, Consumer<Integer> maxConcurrent,
                  Consumer<Long> daily, Consumer<Long> monthly, Consumer<Long> lifetime) {
    }

    static void apply(JsonNode body, Target target) {
        count(body, "requests_per_minute", v -> target.requestsPerMinute().accept(v == null ? null : Math.toIntExact(v)));
        count(body, "tokens_per_minute", target.tokensPerMinute());
        count(body, "max_concurrent", v -> target.maxConcurrent().accept(v == null ? null : Math.toIntExact(v)));
        usd(body, "daily_spend_limit_usd", target.daily());
        usd(body, "monthly_spend_limit_usd", target.monthly());
        usd(body, "lifetime_spend_limit_usd", target.lifetime());
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
        if (!body.has(field)) {
            return;
        }
        if (body.get(field).isNull()) {
            set.accept(null);
            return;
        }
        set.accept(Money.parsePositiveUsd(field, Json.amountText(body, field)));
    }

    static String usd(Long nanos) {
        return nanos == null ? null : Money.format(nanos);
    }
}
