package dev.tollgate.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;
import java.util.Map;

/**
 * Turns the pages' form fields into the JSON bodies of the admin and self-service APIs, and their
 * answers into maps the templates read by their JSON names: the pages do what the API does, with
 * its validation and its audit records, and show what it answers.
 */
@ApplicationScoped
public class Forms {

    public static final List<String> COUNT_LIMITS = List.of("requests_per_minute", "tokens_per_minute", "max_concurrent");
    public static final List<String> USD_LIMITS = List.of("daily_spend_limit_usd", "monthly_spend_limit_usd",
            "lifetime_spend_limit_usd");

    private final ObjectMapper json;

    public Forms(ObjectMapper json) {
        this.json = json;
    }

    public static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /**
     * The limit fields of a form: an empty field removes the limit (null), a number sets it, and
     * anything else goes to the API as typed so that its 400 names the field.
     */
    public static ObjectNode limits(Map<String, String> form) {
        ObjectNode body = object();
        for (String field : COUNT_LIMITS) {
            if (form.containsKey(field)) {
                String v = form.get(field).trim();
                if (v.isEmpty()) {
                    body.putNull(field);
                } else {
                    try {
                        body.put(field, Long.parseLong(v));
                    } catch (NumberFormatException e) {
                        body.put(field, v);
                    }
                }
            }
        }
        for (String field : USD_LIMITS) {
            if (form.containsKey(field)) {
                String v = form.get(field).trim();
                if (v.isEmpty()) {
                    body.putNull(field);
                } else {
                    body.put(field, v);
                }
            }
        }
        return body;
    }

    /** An API answer as the JSON it would be on the wire (snake_case names, decimal strings). */
    @SuppressWarnings("unchecked")
    public Map<String, Object> view(Object apiAnswer) {
        Object entity = apiAnswer instanceof org.jboss.resteasy.reactive.RestResponse<?> r ? r.getEntity() : apiAnswer;
        return json.convertValue(entity, Map.class);
    }

    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> data(Object page) {
        Object data = view(page).get("data");
        return data == null ? List.of() : (List<Map<String, Object>>) data;
    }

    public String toJson(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The message an API error would carry, for the page to show next to the form. */
    public static String message(ApiException e) {
        return e.getMessage();
    }

    public JsonNode tree(Object value) {
        return json.valueToTree(value);
    }
}
