package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.api.ApiException;
import dev.tollgate.upstream.pool.UpstreamsResource;
import dev.tollgate.web.Forms;
import dev.tollgate.web.WebErrors;
import dev.tollgate.web.WebSessions;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

import static dev.tollgate.console.ConsoleResource.back;
import static dev.tollgate.console.ConsoleResource.page;
import static dev.tollgate.console.FormFields.putText;
import static dev.tollgate.console.FormFields.text;

/**
 * The upstreams page over {@code /admin/v1/upstreams}: add one of each kind, change it, disable,
 * test or delete it. The forms build the API's JSON and call its methods, so its checks, audit
 * records and credential sealing apply; a credential typed here is never shown again (its hint is).
 * Kind fields are named {@code kind.field} in the form, and only the chosen kind's are sent (all of
 * them when the kind changes).
 */
@Path("/console/upstreams")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleUpstreams {

    /** Each kind's own fields, in form order; {@link #SECRETS} are write-only. */
    static final Map<String, List<String>> KIND_FIELDS = Map.of(
            "anthropic", List.of("api_key"),
            "bedrock", List.of("region", "inference_profile", "access_key_id", "secret_access_key", "session_token",
                    "api_key"),
            "vertex", List.of("project_id", "region", "token_url", "service_account_json"));
    static final List<String> SECRETS = List.of("api_key", "access_key_id", "secret_access_key", "session_token",
            "service_account_json");
    /** Kind settings that may be cleared (an empty field sends null). */
    private static final List<String> CLEARABLE = List.of("inference_profile", "token_url");

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final UpstreamsResource api;
    private final Forms forms;
    private final WebErrors errors;
    private final Template listPage;
    private final Template upstreamPage;

    public ConsoleUpstreams(WebSessions sessions, AdminAuthFilter admin, UpstreamsResource api, Forms forms,
                            WebErrors errors, @Location("console/upstreams.html") Template listPage,
                            @Location("console/upstream.html") Template upstreamPage) {
        this.sessions = sessions;
        this.admin = admin;
        this.api = api;
        this.forms = forms;
        this.errors = errors;
        this.listPage = listPage;
        this.upstreamPage = upstreamPage;
    }

    @GET
    public TemplateInstance list(@Context HttpServerRequest request, @QueryParam("msg") String msg,
                                 @QueryParam("error") String error) {
        WebSessions.Session s = sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor());
        return page(listPage, s, "upstreams").data("upstreams", forms.data(api.list())).data("msg", msg)
                .data("error", error).data("editing", false);
    }

    @GET
    @Path("/{id}")
    public TemplateInstance upstream(@Context HttpServerRequest request, @PathParam("id") String id,
                                     @QueryParam("msg") String msg, @QueryParam("error") String error) {
        WebSessions.Session s = sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor());
        Map<String, Object> u = current(id);
        u.put("spend", forms.view(api.get(id)).get("spend")); // from the roll-ups: one row per hour and model
        u.put("models_text", FormFields.joined(u.get("models")));
        u.put("model_map_text", u.get("model_map") instanceof Map<?, ?> m ? m.entrySet().stream()
                .map(e -> e.getKey() + " = " + e.getValue()).collect(Collectors.joining("\n")) : "");
        // Every kind's fields (the kind may change), prefilled from the upstream for its own kind only.
        return page(upstreamPage, s, "upstreams").data("u", u).data("msg", msg).data("error", error)
                .data("prefill", Map.of(String.valueOf(u.get("kind")), u))
                .data("editing", true);
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response create(@Context HttpServerRequest request, MultivaluedMap<String, String> form) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), form.getFirst("_csrf"));
        try {
            ObjectNode body = Forms.object();
            String kind = text(form, "kind");
            putText(body, "name", text(form, "name"));
            putText(body, "kind", kind);
            putText(body, "base_url", text(form, "base_url"));
            for (String field : List.of("weight", "priority", "max_concurrent")) {
                if (text(form, field) != null) {
                    FormFields.putInteger(body, field, text(form, field));
                }
            }
            if (text(form, "models") != null) {
                body.set("models", FormFields.list(text(form, "models")));
            }
            putText(body, "price_multiplier", text(form, "price_multiplier"));
            if (text(form, kind + ".model_map") != null) {
                body.set("model_map", FormFields.pairs(text(form, kind + ".model_map"), "model_map"));
            }
            body.put("enabled", form.containsKey("enabled"));
            for (String field : kind == null ? List.<String>of() : KIND_FIELDS.getOrDefault(kind, List.of())) {
                putText(body, field, text(form, kind + "." + field));
            }
            Map<String, Object> created = forms.view(api.create(body));
            return back("/console/upstreams/" + created.get("id"), "Upstream " + created.get("name") + " added.", null);
        } catch (ApiException e) {
            return back("/console/upstreams", null, e.getMessage());
        }
    }

    /** Sends what the form changed: unchanged fields are left out, so a new region still moves the default URL. */
    @POST
    @Path("/{id}")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response update(@Context HttpServerRequest request, @PathParam("id") String id,
                           MultivaluedMap<String, String> form) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), form.getFirst("_csrf"));
        String path = "/console/upstreams/" + id;
        try {
            Map<String, Object> current = current(id);
            String kind = (String) current.get("kind");
            ObjectNode body = Forms.object();
            changed(body, "name", text(form, "name"), current, false);
            changed(body, "base_url", text(form, "base_url"), current, false);
            changed(body, "price_multiplier", text(form, "price_multiplier"), current, false);
            for (String field : List.of("weight", "priority", "max_concurrent")) {
                String typed = text(form, field);
                if (typed == null && field.equals("max_concurrent") && current.get(field) != null) {
                    body.putNull(field);
                } else if (typed != null && !typed.equals(String.valueOf(current.get(field)))) {
                    FormFields.putInteger(body, field, typed);
                }
            }
            String models = text(form, "models");
            if (models == null ? current.get("models") != null
                    : !FormFields.joined(current.get("models")).equals(FormFields.joined(FormFields.words(models)))) {
                body.set("models", models == null ? null : FormFields.list(models));
            }
            String chosen = text(form, "kind");
            if (chosen != null && !chosen.equals(kind)) {
                // Another kind: its fields whole, as the API needs them (the old kind's settings go).
                body.put("kind", chosen);
                for (String field : KIND_FIELDS.getOrDefault(chosen, List.of())) {
                    putText(body, field, text(form, chosen + "." + field));
                }
                if (text(form, chosen + ".model_map") != null) {
                    body.set("model_map", FormFields.pairs(text(form, chosen + ".model_map"), "model_map"));
                }
            } else {
                changedKindFields(body, form, kind, current);
            }
            if (body.isEmpty()) {
                return back(path, "Nothing changed.", null);
            }
            api.update(id, body);
            return back(path, "Upstream saved.", null);
        } catch (ApiException e) {
            if (e.status() == 404) {
                throw e;
            }
            return back(path, null, e.getMessage());
        }
    }

    @POST
    @Path("/{id}/enabled")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response enable(@Context HttpServerRequest request, @PathParam("id") String id,
                           @RestForm("_csrf") String csrf, @RestForm String enabled) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        boolean on = "true".equals(enabled);
        ObjectNode body = Forms.object().put("enabled", on);
        try {
            api.update(id, body);
            return back("/console/upstreams/" + id, on ? "Upstream enabled." : "Upstream disabled: no calls go to it.",
                    null);
        } catch (ApiException e) {
            if (e.status() == 404) {
                throw e;
            }
            return back("/console/upstreams/" + id, null, e.getMessage());
        }
    }

    @POST
    @Path("/{id}/test")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response test(@Context HttpServerRequest request, @PathParam("id") String id,
                         @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        Map<String, Object> t = forms.view(api.test(id));
        String result = "Test call: " + t.get("message") + " (HTTP " + t.get("status") + ", " + t.get("latency_ms")
                + " ms).";
        return Boolean.TRUE.equals(t.get("ok")) ? back("/console/upstreams/" + id, result, null)
                : back("/console/upstreams/" + id, null, result);
    }

    @POST
    @Path("/{id}/delete")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response delete(@Context HttpServerRequest request, @PathParam("id") String id,
                           @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        try {
            api.delete(id);
            return back("/console/upstreams", "Upstream deleted.", null);
        } catch (ApiException e) {
            if (e.status() == 404) {
                throw e;
            }
            return back("/console/upstreams/" + id, null, e.getMessage());
        }
    }

    /**
     * The upstream as the API lists it: without GET's spend sums, which read a month of its usage
     * records (the routing state and settings come from memory).
     */
    private Map<String, Object> current(String id) {
        return forms.data(api.list()).stream().filter(u -> id.equals(String.valueOf(u.get("id")))).findFirst()
                .orElseThrow(() -> ApiException.notFound("upstream: " + id));
    }

    /** The fields of the upstream's own kind that the form changed; a typed credential replaces the stored one. */
    private void changedKindFields(ObjectNode body, MultivaluedMap<String, String> form, String kind,
                                   Map<String, Object> current) {
        if (form.containsKey(kind + ".model_map")) {
            String map = text(form, kind + ".model_map");
            Object now = current.get("model_map");
            if (map == null ? now != null : !forms.view(FormFields.pairs(map, "model_map")).equals(now)) {
                body.set("model_map", map == null ? null : FormFields.pairs(map, "model_map"));
            }
        }
        for (String field : KIND_FIELDS.get(kind)) {
            String typed = text(form, kind + "." + field);
            if (SECRETS.contains(field)) {
                putText(body, field, typed);
            } else {
                changed(body, field, typed, current, CLEARABLE.contains(field));
            }
        }
    }

    /** Puts {@code typed} when it differs from the current value; an emptied clearable field sends null. */
    private static void changed(ObjectNode body, String field, String typed, Map<String, Object> current,
                                boolean clearable) {
        Object now = current.get(field);
        if (typed == null) {
            if (clearable && now != null) {
                body.putNull(field);
            }
        } else if (!Objects.equals(typed, now == null ? null : String.valueOf(now))) {
            body.put(field, typed);
        }
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
