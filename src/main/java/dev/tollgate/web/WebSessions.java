package dev.tollgate.web;

import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import io.vertx.core.http.HttpServerRequest;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.core.Response;
import dev.tollgate.config.TollgateConfig;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Base64;
import java.util.UUID;

/**
 * Server-side sessions of the console and the portal, in the database (any instance serves any
 * session). The browser holds only a random session id in an HttpOnly, SameSite=Strict cookie
 * (Secure over TLS); the table holds its SHA-256. The CSRF token of a session is derived from its
 * id (another hash), so it needs no storage and nobody without the cookie can compute it. Every
 * state-changing request must carry it as the form field {@code _csrf}, or it is refused with 403.
 */
@ApplicationScoped
public class WebSessions {

    public enum Kind {
        CONSOLE("tg_console", "/console"), PORTAL("tg_portal", "/portal");

        final String cookie;
        final String path;

        Kind(String cookie, String path) {
            this.cookie = cookie;
            this.path = path;
        }

        String db() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A live session: the console's actor, or the portal's key and account; its CSRF token. */
    public record Session(Kind kind, String actor, UUID keyId, UUID accountId, String keyName, String keyPrefix,
                          String csrf) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final AgroalDataSource dataSource;
    private final Duration ttl;

    public WebSessions(AgroalDataSource dataSource, TollgateConfig config) {
        this.dataSource = dataSource;
        this.ttl = config.web().sessionTtl();
    }

    public Duration ttl() {
        return ttl;
    }

    /** Starts a session; the Set-Cookie header value that hands its id to the browser. */
    public String start(Kind kind, String actor, UUID keyId, UUID accountId, HttpServerRequest request) {
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        String id = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        try (Connection c = dataSource.getConnection()) {
            // Expired sessions go as new ones come (an index range: cheap, and no timer needed on Lambda).
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM web_sessions WHERE expires_at < now()")) {
                ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO web_sessions (id_hash, kind, actor, key_id, account_id, expires_at)
                    VALUES (?, ?, ?, ?, ?, now() + make_interval(secs => ?))""")) {
                ps.setBytes(1, sha256("session|" + id));
                ps.setString(2, kind.db());
                ps.setString(3, actor);
                ps.setObject(4, keyId);
                ps.setObject(5, accountId);
                ps.setDouble(6, ttl.toSeconds());
                ps.executeUpdate();
            }
        } catch (SQLException e) {
            throw new LedgerException("starting a session failed", e);
        }
        return cookie(kind, id, ttl.toSeconds(), request);
    }

    /**
     * The session of a page request, or a redirect to the sign-in page. A console session ends
     * when the admin token changes; a portal session when its key is revoked or expires.
     */
    public Session require(Kind kind, HttpServerRequest request, String currentActor) {
        Session s = find(kind, request, currentActor);
        if (s == null) {
            throw new PageResponse(Response.seeOther(URI.create(kind.path + "/sign-in"))
                    .header("Cache-Control", "no-store").build());
        }
        return s;
    }

    /** The session of a state-changing request: refused (403) without a session and its CSRF token. */
    public Session requirePost(Kind kind, HttpServerRequest request, String currentActor, String csrf) {
        Session s = find(kind, request, currentActor);
        if (s == null || csrf == null || !MessageDigest.isEqual(
                s.csrf().getBytes(StandardCharsets.UTF_8), csrf.getBytes(StandardCharsets.UTF_8))) {
            throw new PageResponse(Response.status(403).type("text/plain")
                    .entity("Forbidden: this form is stale or did not come from this site. Reload the page and try again.")
                    .build());
        }
        return s;
    }

    public Session find(Kind kind, HttpServerRequest request, String currentActor) {
        String id = cookieValue(request, kind.cookie);
        if (id == null || id.length() > 100) {
            return null;
        }
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT s.actor, s.key_id, s.account_id, k.name, k.prefix
                FROM web_sessions s LEFT JOIN api_keys k ON k.id = s.key_id
                WHERE s.id_hash = ? AND s.kind = ? AND s.expires_at > now()
                  AND (s.key_id IS NULL OR (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())))
                """)) {
            ps.setBytes(1, sha256("session|" + id));
            ps.setString(2, kind.db());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                String actor = rs.getString(1);
                if (kind == Kind.CONSOLE && !actor.equals(currentActor)) {
                    return null;
                }
                return new Session(kind, actor, rs.getObject(2, UUID.class), rs.getObject(3, UUID.class),
                        rs.getString(4), rs.getString(5), csrf(id));
            }
        } catch (SQLException e) {
            throw new LedgerException("reading a session failed", e);
        }
    }

    /** Ends the request's session (if any); the Set-Cookie header value that clears the cookie. */
    public String end(Kind kind, HttpServerRequest request) {
        String id = cookieValue(request, kind.cookie);
        if (id != null) {
            try (Connection c = dataSource.getConnection();
                 PreparedStatement ps = c.prepareStatement("DELETE FROM web_sessions WHERE id_hash = ?")) {
                ps.setBytes(1, sha256("session|" + id));
                ps.executeUpdate();
            } catch (SQLException e) {
                throw new LedgerException("ending a session failed", e);
            }
        }
        return cookie(kind, "", 0, request);
    }

    private static String cookie(Kind kind, String value, long maxAge, HttpServerRequest request) {
        return kind.cookie + "=" + value + "; Path=" + kind.path + "; Max-Age=" + maxAge + "; HttpOnly; SameSite=Strict"
                + (overTls(request) ? "; Secure" : "");
    }

    /** Served over TLS: by this server itself, or by the proxy in front of it (X-Forwarded-Proto). */
    public static boolean overTls(HttpServerRequest request) {
        String proto = request.getHeader("x-forwarded-proto");
        return request.isSSL() || (proto != null && proto.trim().toLowerCase(java.util.Locale.ROOT).startsWith("https"));
    }

    private static String cookieValue(HttpServerRequest request, String name) {
        var cookie = request.getCookie(name);
        return cookie == null || cookie.getValue().isEmpty() ? null : cookie.getValue();
    }

    private static String csrf(String sessionId) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(sha256("csrf|" + sessionId));
    }

    static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
