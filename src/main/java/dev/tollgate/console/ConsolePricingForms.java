package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.api.ApiException;
import dev.tollgate.plans.PlansResource;
import dev.tollgate.plans.PricesResource;
import dev.tollgate.web.Forms;
import dev.tollgate.web.WebErrors;
import dev.tollgate.web.WebSessions;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static dev.tollgate.console.ConsoleResource.back;
import static dev.tollgate.console.FormFields.putText;
import static dev.tollgate.console.FormFields.text;

/**
 * Changing a plan (markup, per-model overrides) and a model's prices from the console: PATCH
 * /admin/v1/plans/{id}, PUT and DELETE /admin/v1/prices/{model}, with the API's checks. Overrides
 * are typed one model a line, {@code model field=value ...}, the fields of the API's
 * {@code model_overrides} entries.
 */
@Path("/console")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsolePricingForms {

    static final List<String> PRICE_FIELDS = List.of("input", "output", "cache_write_5m", "cache_write_1h",
            "cache_read");

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final PlansResource plansApi;
    private final PricesResource pricesApi;
    private final WebErrors errors;

    public ConsolePricingForms(WebSessions sessions, AdminAuthFilter admin, PlansResource plansApi,
                               PricesResource pricesApi, WebErrors errors) {
        this.sessions = sessions;
        this.admin = admin;
        this.plansApi = plansApi;
        this.pricesApi = pricesApi;
        this.errors = errors;
    }

    @POST
    @Path("/plans/{id}")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response updatePlan(@Context HttpServerRequest request, @PathParam("id") String id,
                               MultivaluedMap<String, String> form) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), form.getFirst("_csrf"));
        ObjectNode body = Forms.object();
        body.put("name", form.getFirst("name") == null ? "" : form.getFirst("name").trim());
        body.put("markup_percent", form.getFirst("markup_percent") == null ? "" : form.getFirst("markup_percent").trim());
        String overrides = text(form, "model_overrides");
        try {
            body.set("model_overrides", overrides == null ? null : overrides(overrides));
            plansApi.update(id, body);
            return back("/console/plans", "Plan " + body.get("name").asText() + " saved.", null);
        } catch (ApiException e) {
            if (e.status() == 404) {
                throw e;
            }
            return back("/console/plans", null, e.getMessage());
        }
    }

    /** Lines of {@code model field=value ...}: the API's model_overrides object. */
    static ObjectNode overrides(String text) {
        ObjectNode all = Forms.object();
        for (String line : text.split("\\R")) {
            List<String> words = List.of(line.trim().split("\\s+"));
            if (line.isBlank()) {
                continue;
            }
            if (words.size() < 2) {
                throw ApiException.invalidRequest("model_overrides: write one model a line, such as claude-haiku-4-5"
                        + " markup_percent=10 or claude-sonnet-4-6 input=2.5 output=12 (not: "
                        + FormFields.abbreviate(line.trim()) + ")");
            }
            ObjectNode entry = all.putObject(words.get(0));
            for (String pair : words.subList(1, words.size())) {
                int eq = pair.indexOf('=');
                if (eq <= 0) {
                    throw ApiException.invalidRequest("model_overrides." + words.get(0) + ": write field=value, such as"
                            + " markup_percent=10 (not: " + FormFields.abbreviate(pair) + ")");
                }
                entry.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        return all;
    }

    /** The API's model_overrides as the form's lines. */
    static String overridesText(Object overrides) {
        if (!(overrides instanceof Map<?, ?> map)) {
            return "";
        }
        return map.entrySet().stream().map(e -> e.getKey() + " " + ((Map<?, ?>) e.getValue()).entrySet().stream()
                .filter(f -> f.getValue() != null).map(f -> f.getKey() + "=" + f.getValue())
                .collect(Collectors.joining(" "))).collect(Collectors.joining("\n"));
    }

    /**
     * PUT /admin/v1/prices/{model}: empty cache fields follow the input price, an empty band means
     * none, and empty facts (name, aliases, token limits) are the built-in entry's.
     */
    @POST
    @Path("/prices")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response setPrice(@Context HttpServerRequest request, MultivaluedMap<String, String> form) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), form.getFirst("_csrf"));
        String model = form.getFirst("model") == null ? "" : form.getFirst("model").trim();
        ObjectNode body = Forms.object();
        for (String field : PRICE_FIELDS) {
            putText(body, field, text(form, field));
        }
        putText(body, "display_name", text(form, "display_name"));
        if (text(form, "aliases") != null) {
            body.set("aliases", FormFields.list(text(form, "aliases")));
        }
        for (String field : List.of("max_input_tokens", "max_tokens")) {
            if (text(form, field) != null) {
                FormFields.putInteger(body, field, text(form, field));
            }
        }
        if (text(form, "long_context.threshold_tokens") != null) {
            ObjectNode band = body.putObject("long_context");
            FormFields.putInteger(band, "threshold_tokens", text(form, "long_context.threshold_tokens"));
            for (String field : PRICE_FIELDS) {
                putText(band, field, text(form, "long_context." + field));
            }
        }
        try {
            pricesApi.put(model, body);
            return back("/console/prices", "Prices of " + model + " saved.", null);
        } catch (ApiException e) {
            return back("/console/prices?edit=" + URLEncoder.encode(model, StandardCharsets.UTF_8), null, e.getMessage());
        }
    }

    @POST
    @Path("/prices/{model}/delete")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response deletePrice(@Context HttpServerRequest request, @PathParam("model") String model,
                                @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        try {
            pricesApi.delete(model);
            return back("/console/prices", "The stored prices of " + model + " are removed.", null);
        } catch (ApiException e) {
            return back("/console/prices", null, e.getMessage());
        }
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
