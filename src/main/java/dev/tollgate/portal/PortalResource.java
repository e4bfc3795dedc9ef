package dev.tollgate.portal;

import dev.tollgate.api.ApiException;
import dev.tollgate.credit.RedeemResource;
import dev.tollgate.gateway.ClientIps;
import dev.tollgate.keys.ApiKeyService;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.selfservice.MeResource;
import dev.tollgate.web.Forms;
import dev.tollgate.web.Formats;
import dev.tollgate.web.UsageViews;
import dev.tollgate.web.WebErrors;
import dev.tollgate.web.WebSessions;
import io.agroal.api.AgroalDataSource;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The customer portal: a developer signs in with one of their {@code sk-tg-} keys (exchanged for
 * a session cookie; the key is not kept in the browser) and sees what {@code /v1/me} and
 * {@code /v1/me/usage} answer for it, charts from the hourly roll-ups, and can redeem a code. The
 * session names its key and account, and nothing here takes an account or key id from the
 * request: there is no id in a URL to change.
 */
@Path("/portal")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class PortalResource {

    @jakarta.inject.Inject
    WebErrors errors;
    @jakarta.inject.Inject
    PortalSessions portalSessions;

    private final WebSessions sessions;
    private final ApiKeyService keys;
    private final ClientIps clientIps;
    private final MeResource me;
    private final RedeemResource redeem;
    private final UsageViews usage;
    private final Forms forms;
    private final AgroalDataSource dataSource;
    private final Template signIn;
    private final Template overview;

    public PortalResource(WebSessions sessions, ApiKeyService keys, ClientIps clientIps, MeResource me,
                          RedeemResource redeem, UsageViews usage, Forms forms, AgroalDataSource dataSource,
                          @Location("portal/sign-in.html") Template signIn,
                          @Location("portal/overview.html") Template overview) {
        this.sessions = sessions;
        this.keys = keys;
        this.clientIps = clientIps;
        this.me = me;
        this.redeem = redeem;
        this.usage = usage;
        this.forms = forms;
        this.dataSource = dataSource;
        this.signIn = signIn;
        this.overview = overview;
    }

    @GET
    @Path("/sign-in")
    public Response form(@Context HttpServerRequest request) {
        if (sessions.find(WebSessions.Kind.PORTAL, request, null) != null) {
            return Response.seeOther(URI.create("/portal")).build();
        }
        return Response.ok(signIn.data("error", null)).build();
    }

    /** The key is checked as the API checks it (same limits on wrong keys per address, same IP ranges). */
    @POST
    @Path("/sign-in")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signIn(@Context HttpServerRequest request, @RestForm String key) {
        String ip = clientIps.clientIp(request);
        AuthenticatedKey auth;
        try {
            auth = keys.authenticate(key == null ? null : key.trim(), "API key", () -> ip);
            if (!auth.allowsIp(ip)) {
                throw ApiException.permission("This API key may not be used from this IP address");
            }
        } catch (ApiException e) {
            return Response.status(e.status()).entity(signIn.data("error", e.getMessage())).build();
        }
        String cookie = sessions.start(WebSessions.Kind.PORTAL, null, auth.id(), auth.accountId(), request);
        return Response.seeOther(URI.create("/portal")).header("Set-Cookie", cookie).build();
    }

    @POST
    @Path("/sign-out")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response signOut(@Context HttpServerRequest request, @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.PORTAL, request, null, csrf);
        return Response.seeOther(URI.create("/portal/sign-in"))
                .header("Set-Cookie", sessions.end(WebSessions.Kind.PORTAL, request)).build();
    }

    @GET
    public TemplateInstance overview(@Context HttpServerRequest request, @QueryParam("msg") String msg,
                                     @QueryParam("error") String error) {
        WebSessions.Session s = portalSessions.require(request);
        Map<String, Object> view = forms.view(me.me(s.keyId(), s.accountId()));
        Map<String, Object> month = forms.view(me.usage(s.accountId(), 20, null, null, null));
        Instant since = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(29, ChronoUnit.DAYS);
        String base = baseUrl(request);
        return overview.data("csrf", s.csrf()).data("me", view).data("key", view.get("key"))
                .data("account", view.get("account")).data("calls", month.get("data"))
                .data("cache", usage.totals(s.accountId(), UsageViews.monthStart()))
                .data("chart", forms.toJson(usage.series(s.accountId(), since, false, false)))
                .data("window", rateWindow(s.keyId())).data("base", base).data("msg", msg).data("error", error);
    }

    @POST
    @Path("/redeem")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response redeem(@Context HttpServerRequest request, @RestForm("_csrf") String csrf, @RestForm String code) {
        WebSessions.Session s = portalSessions.requirePost(request, csrf);
        AuthenticatedKey key = new AuthenticatedKey(s.keyId(), s.accountId(), s.keyName(), s.keyPrefix(), null, null,
                null, null, null, false);
        var body = Forms.object();
        body.put("code", code == null ? "" : code.trim());
        try {
            Map<String, Object> r = forms.view(redeem.redeem(key, clientIps.clientIp(request), body));
            return back("Redeemed: " + Formats.usd((String) r.get("amount_usd")) + " added to your balance.", null);
        } catch (ApiException e) {
            return back(null, e.getMessage());
        }
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }

    private static Response back(String msg, String error) {
        String q = msg != null ? "?msg=" + URLEncoder.encode(msg, StandardCharsets.UTF_8)
                : "?error=" + URLEncoder.encode(error, StandardCharsets.UTF_8);
        return Response.seeOther(URI.create("/portal" + q)).build();
    }

    /** This gateway's own base URL, as the browser reached it (behind a proxy: its forwarded host). */
    static String baseUrl(HttpServerRequest request) {
        String host = request.getHeader("x-forwarded-host");
        if (host == null) {
            host = request.authority() == null ? "localhost" : request.authority().toString();
        }
        return (WebSessions.overTls(request) ? "https://" : "http://") + host.split(",")[0].trim();
    }

    /**
     * The key's current rate window: requests and tokens counted in this minute (kept only for a
     * key with limits). One primary-key read.
     */
    private Map<String, Object> rateWindow(UUID keyId) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT window_start, window_requests, window_tokens, inflight FROM limit_counters
                WHERE subject_id = ? AND window_start > now() - interval '1 minute'""")) {
            ps.setObject(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
                Map<String, Object> w = new LinkedHashMap<>();
                if (rs.next()) {
                    w.put("requests", rs.getLong(2));
                    w.put("tokens", rs.getLong(3));
                    w.put("in_flight", rs.getInt(4));
                } else {
                    w.put("requests", 0L);
                    w.put("tokens", 0L);
                    w.put("in_flight", 0);
                }
                return w;
            }
        } catch (SQLException e) {
            throw new LedgerException("reading the rate window failed", e);
        }
    }
}
