package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.admin.AdminResource;
import dev.tollgate.api.ApiException;
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
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import static dev.tollgate.console.ConsoleResource.back;

/**
 * What a key may do, on its account's page: its allowed models, allowed client address ranges and
 * expiry (PATCH /admin/v1/keys/{id}). An empty field means no restriction: all models, any address,
 * no expiry.
 */
@Path("/console/keys")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleKeyAccess {

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final AdminResource api;
    private final WebErrors errors;

    public ConsoleKeyAccess(WebSessions sessions, AdminAuthFilter admin, AdminResource api, WebErrors errors) {
        this.sessions = sessions;
        this.admin = admin;
        this.api = api;
        this.errors = errors;
    }

    @POST
    @Path("/{id}/access")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response access(@Context HttpServerRequest request, @PathParam("id") String id,
                           MultivaluedMap<String, String> form) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), form.getFirst("_csrf"));
        String account = ConsoleKeys.accountOf(id);
        ObjectNode body = Forms.object();
        for (String field : new String[] {"allowed_models", "allowed_ips"}) {
            String typed = FormFields.text(form, field);
            body.set(field, typed == null ? null : FormFields.list(typed));
        }
        String expires = FormFields.text(form, "expires_at");
        if (expires == null) {
            body.putNull("expires_at");
        } else {
            body.put("expires_at", expires);
        }
        try {
            api.updateKey(id, body);
            return back("/console/accounts/" + account, "Key access saved.", null);
        } catch (ApiException e) {
            return back("/console/accounts/" + account, null, e.getMessage());
        }
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
