package dev.tollgate.console;

import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.admin.AdminResource;
import dev.tollgate.api.ApiException;
import dev.tollgate.keys.ApiKey;
import dev.tollgate.web.Forms;
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
import dev.tollgate.web.WebErrors;
import org.jboss.resteasy.reactive.RestForm;

import java.util.Map;

import static dev.tollgate.console.ConsoleResource.back;

/** A key's actions on its account's page: rotate (the new secret shown once), revoke, limits. */
@Path("/console/keys")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleKeys {

    @jakarta.inject.Inject
    WebErrors errors;

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final AdminResource api;
    private final Forms forms;
    private final ConsoleAccounts accounts;

    public ConsoleKeys(WebSessions sessions, AdminAuthFilter admin, AdminResource api, Forms forms,
                       ConsoleAccounts accounts) {
        this.sessions = sessions;
        this.admin = admin;
        this.api = api;
        this.forms = forms;
        this.accounts = accounts;
    }

    @POST
    @Path("/{id}/rotate")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response rotate(@Context HttpServerRequest request, @PathParam("id") String id, @RestForm("_csrf") String csrf,
                           @RestForm("grace_seconds") String grace) {
        WebSessions.Session s = sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        String account = accountOf(id);
        try {
            byte[] body = new byte[0];
            if (ConsoleResource.blank(grace) != null) {
                var json = Forms.object();
                try {
                    json.put("grace_seconds", Long.parseLong(grace.trim()));
                } catch (NumberFormatException e) {
                    json.put("grace_seconds", grace.trim());
                }
                body = forms.toJson(json).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
            Map<String, Object> issued = forms.view(api.rotateKey(id, body));
            return Response.ok(accounts.issuedPage(s, account, "Key rotated: the previous secret works until "
                    + issued.get("previous_key_valid_until") + ".", issued)).build();
        } catch (ApiException e) {
            return back("/console/accounts/" + account, null, e.getMessage());
        }
    }

    @POST
    @Path("/{id}/revoke")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response revoke(@Context HttpServerRequest request, @PathParam("id") String id, @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        String account = accountOf(id);
        api.revokeKey(id);
        return back("/console/accounts/" + account, "Key revoked.", null);
    }

    @POST
    @Path("/{id}/limits")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response limits(@Context HttpServerRequest request, @PathParam("id") String id,
                           MultivaluedMap<String, String> form) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), form.getFirst("_csrf"));
        String account = accountOf(id);
        try {
            api.updateKey(id, Forms.limits(ConsoleAccounts.single(form)));
            return back("/console/accounts/" + account, "Key limits saved.", null);
        } catch (ApiException e) {
            return back("/console/accounts/" + account, null, e.getMessage());
        }
    }

    /** The key's account, as the admin API reads the key (404 for an unknown key, like the API). */
    static String accountOf(String keyId) {
        ApiKey key;
        try {
            key = ApiKey.findById(java.util.UUID.fromString(keyId));
        } catch (IllegalArgumentException e) {
            key = null;
        }
        if (key == null) {
            throw ApiException.notFound("Key " + keyId + " not found");
        }
        return key.accountId.toString();
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
