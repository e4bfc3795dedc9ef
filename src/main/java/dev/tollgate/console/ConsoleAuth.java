package dev.tollgate.console;

import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.admin.AuditLog;
import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.gateway.ClientIps;
import dev.tollgate.keys.FailedAuthentications;
import dev.tollgate.web.WebSessions;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;

import java.net.URI;

/**
 * Signing in to the console: the admin token, typed once, is exchanged for a session cookie and
 * never kept, shown, put in a URL or logged. Wrong tokens count against the client's address like
 * wrong API keys do ({@link FailedAuthentications}): after too many, the address waits.
 */
@Path("/console")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleAuth {

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final ClientIps clientIps;
    private final FailedAuthentications failures;
    private final Template signIn;
    private final AuditLog audit;

    public ConsoleAuth(WebSessions sessions, AdminAuthFilter admin, ClientIps clientIps, TollgateConfig config,
                       AuditLog audit, @Location("console/sign-in.html") Template signIn) {
        this.sessions = sessions;
        this.audit = audit;
        this.admin = admin;
        this.clientIps = clientIps;
        this.signIn = signIn;
        this.failures = new FailedAuthentications(config.keys().failedAuthLimit(), config.keys().failedAuthWindow().toNanos());
    }

    @GET
    @Path("/sign-in")
    public Response form(@Context HttpServerRequest request) {
        if (sessions.find(WebSessions.Kind.CONSOLE, request, admin.actor()) != null) {
            return Response.seeOther(URI.create("/console")).build();
        }
        return Response.ok(signIn.data("error", null)).build();
    }

    @POST
    @Path("/sign-in")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signIn(@Context HttpServerRequest request, @RestForm String token) {
        String ip = clientIps.clientIp(request);
        try {
            failures.refuseIfBlocked(ip);
        } catch (ApiException e) {
            return Response.status(429).header("retry-after", e.headers().get("retry-after"))
                    .entity(signIn.data("error", "Too many wrong tokens from this address. Try again in "
                            + e.headers().get("retry-after") + " s.")).build();
        }
        if (!admin.accepts(token == null ? null : token.trim())) {
            failures.record(ip);
            return Response.status(401).entity(signIn.data("error", "That is not the admin token.")).build();
        }
        String cookie = sessions.start(WebSessions.Kind.CONSOLE, admin.actor(), null, null, request);
        audit.record("console.sign_in", null, java.util.Map.of());
        return Response.seeOther(URI.create("/console")).header("Set-Cookie", cookie).build();
    }

    @POST
    @Path("/sign-out")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signOut(@Context HttpServerRequest request, @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        return Response.seeOther(URI.create("/console/sign-in"))
                .header("Set-Cookie", sessions.end(WebSessions.Kind.CONSOLE, request)).build();
    }
}
