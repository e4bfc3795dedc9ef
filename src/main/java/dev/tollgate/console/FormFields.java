package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import jakarta.ws.rs.core.MultivaluedMap;

import java.util.Arrays;
import java.util.List;

/**
 * Form text to JSON values for the admin API, without judging them: a number that does not parse
 * goes on as the text typed, so the API's own 400 names the field. Only the form's layout (a list
 * as comma-separated words, a map as lines) is read here.
 */
final class FormFields {

    private FormFields() {
    }

    static String text(MultivaluedMap<String, String> form, String name) {
        String v = form.getFirst(name);
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** The text as typed, when something was (a field left empty is left out). */
    static void putText(ObjectNode body, String field, String text) {
        if (text != null) {
            body.put(field, text);
        }
    }

    /** An integer as a JSON number when it parses, else as the text typed. */
    static void putInteger(ObjectNode body, String field, String text) {
        try {
            body.put(field, Long.parseLong(text));
        } catch (NumberFormatException e) {
            body.put(field, text);
        }
    }

    /** Words separated by commas, spaces or new lines: a JSON list. */
    static ArrayNode list(String text) {
        ArrayNode list = JsonNodeFactory.instance.arrayNode();
        words(text).forEach(list::add);
        return list;
    }

    static List<String> words(String text) {
        return Arrays.stream(text.split("[,\\s]+")).filter(s -> !s.isEmpty()).toList();
    }

    static String joined(Object list) {
        return list instanceof List<?> l ? String.join(", ", l.stream().map(String::valueOf).toList()) : "";
    }

    /** Lines of {@code key = value}: a JSON object of strings ({@code field} names it in errors). */
    static ObjectNode pairs(String text, String field) {
        ObjectNode map = JsonNodeFactory.instance.objectNode();
        for (String line : text.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw ApiException.invalidRequest(field + ": write one model per line as model = upstream model id"
                        + " (not: " + abbreviate(line.trim()) + ")");
            }
            map.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
        }
        return map;
    }

    static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }
}
