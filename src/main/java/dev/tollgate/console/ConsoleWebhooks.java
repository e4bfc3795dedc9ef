package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.api.ApiException;
import dev.tollgate.web.Forms;
import dev.tollgate.web.WebErrors;
import dev.tollgate.web.WebSessions;
import dev.tollgate.webhooks.Outbox;
import dev.tollgate.webhooks.WebhookResource;
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

import static dev.tollgate.console.ConsoleResource.back;
import static dev.tollgate.console.ConsoleResource.page;

/**
 * The webhooks page over {@code /admin/v1/webhooks}: add an endpoint (its signing secret shown
 * once, in the answer to the form), send one a test event, delete one, and read each one's recent
 * deliveries. The API has no edit, so neither has the page: an endpoint is replaced by a new one.
 */
@Path("/console/webhooks")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleWebhooks {

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final WebhookResource api;
    private final Forms forms;
    private final WebErrors errors;
    private final Template listPage;
    private final Template webhookPage;

    public ConsoleWebhooks(WebSessions sessions, AdminAuthFilter admin, WebhookResource api, Forms forms,
                           WebErrors errors, @Location("console/webhooks.html") Template listPage,
                           @Location("console/webhook.html") Template webhookPage) {
        this.sessions = sessions;
        this.admin = admin;
        this.api = api;
        this.forms = forms;
        this.errors = errors;
        this.listPage = listPage;
        this.webhookPage = webhookPage;
    }

    @GET
    public TemplateInstance list(@Context HttpServerRequest request, @QueryParam("msg") String msg,
                                 @QueryParam("error") String error) {
        return listPage(sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor()), msg, error, null);
    }

    private TemplateInstance listPage(WebSessions.Session s, String msg, String error, Map<String, Object> created) {
        return page(listPage, s, "webhooks").data("webhooks", forms.data(api.list()))
                .data("events", Outbox.EVENT_TYPES.stream().sorted().toList()).data("created", created)
                .data("msg", msg).data("error", error);
    }

    /** Adds an endpoint and answers with the page showing its secret: the only time it is shown. */
    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response create(@Context HttpServerRequest request, MultivaluedMap<String, String> form) {
        WebSessions.Session s = sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(),
                form.getFirst("_csrf"));
        ObjectNode body = Forms.object();
        String url = FormFields.text(form, "url");
        if (url != null) {
            body.put("url", url);
        }
        List<String> events = form.getOrDefault("events", List.of());
        if (!events.isEmpty()) {
            events.forEach(body.putArray("events")::add);
        }
        try {
            Map<String, Object> created = forms.view(api.create(body));
            return Response.ok(listPage(s, "Webhook added.", null, created)).header("Cache-Control", "no-store").build();
        } catch (ApiException e) {
            return back("/console/webhooks", null, e.getMessage());
        }
    }

    @GET
    @Path("/{id}")
    public TemplateInstance webhook(@Context HttpServerRequest request, @PathParam("id") String id,
                                    @QueryParam("msg") String msg) {
        WebSessions.Session s = sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor());
        return page(webhookPage, s, "webhooks").data("w", forms.view(api.get(id)))
                .data("deliveries", forms.data(api.deliveries(id, 50))).data("msg", msg).data("error", null);
    }

    @POST
    @Path("/{id}/test")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response test(@Context HttpServerRequest request, @PathParam("id") String id,
                         @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        Object eventId = forms.view(api.test(id).getEntity()).get("event_id");
        return back("/console/webhooks/" + id, "Test event " + eventId + " queued: its delivery shows below.", null);
    }

    @POST
    @Path("/{id}/delete")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response delete(@Context HttpServerRequest request, @PathParam("id") String id,
                           @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        api.delete(id);
        return back("/console/webhooks", "Webhook deleted; its undelivered events are dropped.", null);
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
