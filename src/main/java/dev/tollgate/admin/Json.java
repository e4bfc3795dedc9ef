package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/** Strict readers for request fields of the REST APIs: every wrong input gets a 400 that names the field. */
public final class Json {

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

    /** An amount as a JSON string ("10.50") or number (10.5), read without binary floating point. */
    public static String amountText(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.asText();
        }
        if (v.isNumber()) {
            return v.decimalValue().toPlainString();
        }
        throw ApiException.invalidRequest(field + ": must be a decimal string such as \"10.00\"");
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
