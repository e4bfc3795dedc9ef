package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Money;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import java.util.regex.Pattern;

/** Strict readers for request fields of the REST APIs: every wrong input gets a 400 that names the field. */
public final class Json {

    /**
     * A decimal of ASCII digits: BigDecimal alone also reads other scripts' digits ("١٢" and
     * "１２" are 12), exponents and a plus sign. The length bound keeps parsing cheap.
     */
    private static final Pattern PLAIN_DECIMAL = Pattern.compile("-?[0-9]{1,20}(\\.[0-9]{1,20})?");
    /** Beyond these a JSON number is no amount, and writing it out digit by digit would be huge (1e999999999). */
    private static final int MAX_NUMBER_DIGITS = 40;

    private Json() {
    }

    public static JsonNode object(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalidRequest("The request body must be a JSON object");
        }
        return body;
    }

    /** Refuses fields the endpoint does not know: a typo must not pass silently as "no change". */
    public static JsonNode onlyFields(JsonNode body, java.util.Set<String> known) {
        object(body).fieldNames().forEachRemaining(name -> {
            if (!known.contains(name)) {
                throw ApiException.invalidRequest(name + ": unknown field; expected one of " + new java.util.TreeSet<>(known));
            }
        });
        return body;
    }

    public static String requiredString(JsonNode body, String field, int maxLength) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.invalidRequest(field + ": Field required");
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw ApiException.invalidRequest(field + ": must be a non-empty string");
        }
        if (v.asText().length() > maxLength) {
            throw ApiException.invalidRequest(field + ": at most " + maxLength + " characters");
        }
        return v.asText();
    }

    public static String optionalString(JsonNode body, String field, int maxLength) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalidRequest(field + ": must be a string");
        }
        if (v.asText().length() > maxLength) {
            throw ApiException.invalidRequest(field + ": at most " + maxLength + " characters");
        }
        return v.asText();
    }

    /**
     * A positive USD amount (at most 9 decimals) from a JSON string ("10.50") or number (10.5),
     * or null when the field is absent or null; {@code signed}: a negative amount is allowed too.
     * Numbers are read exactly (the mapper keeps decimals as BigDecimal, never a double).
     */
    public static Long usd(JsonNode body, String field, boolean signed) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        String text;
        if (v.isTextual()) {
            text = v.asText();
        } else if (v.isNumber() && (v.isIntegralNumber() || v.isBigDecimal())) {
            BigDecimal number = v.decimalValue();
            if (number.precision() > MAX_NUMBER_DIGITS || Math.abs(number.scale()) > MAX_NUMBER_DIGITS) {
                throw ApiException.invalidRequest(field + ": must be a decimal amount such as \"10.00\"");
            }
            text = number.toPlainString();
        } else {
            throw ApiException.invalidRequest(field + ": must be a decimal string such as \"10.00\"");
        }
        if (!PLAIN_DECIMAL.matcher(text).matches()) {
            throw ApiException.invalidRequest(field + ": '" + abbreviate(text) + "' is not a decimal amount; write it"
                    + " with the digits 0-9 and an optional decimal point, such as \"10.50\"");
        }
        boolean negative = text.startsWith("-");
        if (negative && !signed) {
            throw ApiException.invalidRequest(field + ": must be greater than 0");
        }
        long nanos = Money.parsePositiveUsd(field, negative ? text.substring(1) : text);
        return negative ? -nanos : nanos;
    }

    private static String abbreviate(String text) {
        return text.length() > 40 ? text.substring(0, 40) + "..." : text;
    }

    /** A non-empty array of strings (trimmed), or null when the field is null or absent. */
    public static java.util.List<String> optionalStringList(JsonNode node, String field, String what) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiException.invalidRequest(field + ": must be a non-empty array of " + what + ", or null");
        }
        java.util.List<String> entries = new java.util.ArrayList<>();
        for (JsonNode e : node) {
            if (!e.isTextual()) {
                throw ApiException.invalidRequest(field + ": every entry must be a string");
            }
            entries.add(e.asText().trim());
        }
        return entries;
    }

    public static Instant optionalInstant(JsonNode body, String field) {
        String text = optionalString(body, field, 64);
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw ApiException.invalidRequest(field + ": must be an RFC 3339 time such as 2027-01-31T00:00:00Z");
        }
    }

    public static UUID uuid(String text, String what) {
        try {
            return UUID.fromString(text);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound(what + " " + text + " not found");
        }
    }
}
