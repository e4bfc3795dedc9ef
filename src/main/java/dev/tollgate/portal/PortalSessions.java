package dev.tollgate.portal;

import dev.tollgate.gateway.ClientIps;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.limits.CidrSet;
import dev.tollgate.web.PageResponse;
import dev.tollgate.web.WebSessions;
import io.agroal.api.AgroalDataSource;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.vertx.core.http.HttpServerRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.net.URI;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.UUID;

/**
 * A portal session, checked on every request as the API checks its key on every call: a key that
 * is revoked or has expired ends the session (its row and cookie go), and a key with allowed IP
 * ranges is refused from any other address, which also ends the session.
 */
@ApplicationScoped
public class PortalSessions {

    private final WebSessions sessions;
    private final ClientIps clientIps;
    private final AgroalDataSource dataSource;
    private final Template signIn;

    public PortalSessions(WebSessions sessions, ClientIps clientIps, AgroalDataSource dataSource,
                          @Location("portal/sign-in.html") Template signIn) {
        this.sessions = sessions;
        this.clientIps = clientIps;
        this.dataSource = dataSource;
        this.signIn = signIn;
    }

    /** The session of a page, or the sign-in page (a dead session's cookie cleared). */
    public WebSessions.Session require(HttpServerRequest request) {
        WebSessions.Session s = sessions.find(WebSessions.Kind.PORTAL, request, null);
        if (s == null) {
            throw new PageResponse(Response.seeOther(URI.create("/portal/sign-in")).header("Cache-Control", "no-store")
                    .header("Set-Cookie", sessions.end(WebSessions.Kind.PORTAL, request)).build());
        }
        checkAddress(s, request);
        return s;
    }

    /** The session of a form post: its CSRF token (403 without), then the same checks as a page. */
    public WebSessions.Session requirePost(HttpServerRequest request, String csrf) {
        WebSessions.Session s = sessions.requirePost(WebSessions.Kind.PORTAL, request, null, csrf);
        checkAddress(s, request);
        return s;
    }

    private void checkAddress(WebSessions.Session s, HttpServerRequest request) {
        CidrSet allowed = allowedIps(s.keyId());
        if (allowed != null && !allowed.contains(clientIps.clientIp(request))) {
            throw new PageResponse(Response.status(403).type(MediaType.TEXT_HTML_TYPE)
                    .header("Set-Cookie", sessions.end(WebSessions.Kind.PORTAL, request))
                    .entity(signIn.data("error", "This API key may not be used from this IP address.").render())
                    .build());
        }
    }

    /** The key's allowed ranges now (null: any address); one primary-key read. */
    private CidrSet allowedIps(UUID keyId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT allowed_cidrs FROM api_keys WHERE id = ?")) {
            ps.setObject(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
                Array cidrs = rs.next() ? rs.getArray(1) : null;
                return cidrs == null ? null : CidrSet.parse(Arrays.asList((String[]) cidrs.getArray()));
            }
        } catch (SQLException e) {
            throw new LedgerException("reading the key's allowed addresses failed", e);
        }
    }
}
