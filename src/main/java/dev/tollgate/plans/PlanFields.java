package dev.tollgate.plans;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.metering.PriceTable;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Strict readers of the plan and price fields: every wrong input is a 400 that names the field. */
final class PlanFields {

    /** ASCII digits with an optional sign and fraction (BigDecimal alone also reads exponents and other scripts' digits). */
    private static final Pattern DECIMAL = Pattern.compile("-?[0-9]{1,12}(\\.[0-9]{1,9})?");
    private static final BigDecimal MINUS_HUNDRED = BigDecimal.valueOf(-100);
    private static final BigDecimal MAX_MARKUP = BigDecimal.valueOf(100_000);
    /** USD per million tokens: far above any model's price, so a typo of a few digits is refused. */
    private static final BigDecimal MAX_PRICE = BigDecimal.valueOf(100_000);
    private static final Set<String> PRICE_OVERRIDE_FIELDS =
            Set.of("input", "output", "cache_write_5m", "cache_write_1h", "cache_read");

    private PlanFields() {
    }

    /** A decimal from a JSON string ("12.5") or number (12.5), read exactly; null when absent or null. */
    static BigDecimal decimal(JsonNode node, String field, String name) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        String text;
        if (v.isTextual()) {
            text = v.asText().trim();
        } else if (v.isIntegralNumber() || v.isBigDecimal()) {
            text = v.decimalValue().toPlainString();
        } else {
            throw ApiException.invalidRequest(name + ": must be a decimal string such as \"20\"");
        }
        if (!DECIMAL.matcher(text).matches()) {
            throw ApiException.invalidRequest(name + ": '" + (text.length() > 40 ? text.substring(0, 40) + "..." : text)
                    + "' is not a decimal number; write it with the digits 0-9, an optional minus sign and at most"
                    + " 9 decimals, such as \"12.5\"");
        }
        return new BigDecimal(text);
    }

    /** A markup in percent: above -100 (a discount of less than everything), at most 100000. */
    static BigDecimal markup(JsonNode node, String field, String name, boolean required) {
        BigDecimal m = decimal(node, field, name);
        if (m == null) {
            if (required) {
                throw ApiException.invalidRequest(name + ": Field required");
            }
            return null;
        }
        if (m.compareTo(MINUS_HUNDRED) <= 0 || m.compareTo(MAX_MARKUP) > 0) {
            throw ApiException.invalidRequest(name + ": must be above -100 and at most 100000 (percent of the list price)");
        }
        return m.stripTrailingZeros().scale() < 0 ? m.setScale(0) : m.stripTrailingZeros();
    }

    /** A price in USD per million tokens: 0 or more, at most 100000. */
    static BigDecimal price(JsonNode node, String field, String name, boolean required) {
        BigDecimal p = decimal(node, field, name);
        if (p == null) {
            if (required) {
                throw ApiException.invalidRequest(name + ": Field required");
            }
            return null;
        }
        if (p.signum() < 0 || p.compareTo(MAX_PRICE) > 0) {
            throw ApiException.invalidRequest(name + ": must be a price in USD per million tokens, from 0 to 100000");
        }
        return p;
    }

    /**
     * {@code model_overrides}: model id or alias → {input, output, cache prices?} or {markup_percent};
     * keyed by the canonical model id.
     */
    static Map<String, ModelOverride> overrides(JsonNode node, PriceTable prices) {
        Map<String, ModelOverride> overrides = new LinkedHashMap<>();
        if (node == null || node.isNull()) {
            return overrides;
        }
        if (!node.isObject()) {
            throw ApiException.invalidRequest("model_overrides: must be an object of model id → prices or markup_percent");
        }
        if (node.size() > 1000) {
            throw ApiException.invalidRequest("model_overrides: at most 1000 models");
        }
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> e = fields.next();
            String name = "model_overrides." + e.getKey();
            String id = prices.resolve(e.getKey()).map(r -> r.price().id()).orElseThrow(() ->
                    ApiException.invalidRequest(name + ": not a model of the price table (GET /admin/v1/prices)"));
            JsonNode o = e.getValue();
            if (o == null || !o.isObject()) {
                throw ApiException.invalidRequest(name + ": must be an object: {\"input\", \"output\", cache prices?}"
                        + " in USD per million tokens, or {\"markup_percent\"}");
            }
            ModelOverride override;
            if (o.has("markup_percent")) {
                if (o.size() != 1) {
                    throw ApiException.invalidRequest(name + ": either prices or markup_percent, not both");
                }
                override = ModelOverride.markup(markup(o, "markup_percent", name + ".markup_percent", true));
            } else {
                o.fieldNames().forEachRemaining(f -> {
                    if (!PRICE_OVERRIDE_FIELDS.contains(f)) {
                        throw ApiException.invalidRequest(name + "." + f + ": unknown field; expected input, output,"
                                + " cache_write_5m, cache_write_1h, cache_read or markup_percent");
                    }
                });
                override = ModelOverride.prices(price(o, "input", name + ".input", true),
                        price(o, "output", name + ".output", true),
                        price(o, "cache_write_5m", name + ".cache_write_5m", false),
                        price(o, "cache_write_1h", name + ".cache_write_1h", false),
                        price(o, "cache_read", name + ".cache_read", false));
            }
            if (overrides.put(id, override) != null) {
                throw ApiException.invalidRequest(name + ": " + id + " is overridden twice (by its id and an alias)");
            }
        }
        return overrides;
    }
}
