package dev.tollgate.admin;

import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Provider;
import jakarta.inject.Singleton;
import jakarta.ws.rs.container.ContainerRequestContext;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Guards /admin/*: Authorization: Bearer TOLLGATE_ADMIN_TOKEN, compared in constant time. */
@Singleton
public class AdminAuthFilter {

    private static final byte[] UNSET = new byte[0];

    /** Quarkus REST builds filters at static init, before runtime config exists: read it on first use. */
    private final Provider<TollgateConfig> config;
    private volatile byte[] tokenDigest;

    public AdminAuthFilter(Provider<TollgateConfig> config) {
        this.config = config;
    }

    void logState(@Observes StartupEvent event) {
        if (digest() == UNSET) {
            Log.warn("TOLLGATE_ADMIN_TOKEN is not set: the admin API refuses every call until it is");
        }
    }

    private byte[] digest() {
        byte[] d = tokenDigest;
        if (d == null) {
            d = config.get().adminToken().filter(t -> !t.isBlank()).map(AdminAuthFilter::sha256).orElse(UNSET);
            tokenDigest = d;
        }
        return d;
    }

    @ServerRequestFilter(preMatching = true)
    public void authenticate(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (!path.startsWith("/admin/") && !path.equals("/admin")) {
            return;
        }
        byte[] expected = digest();
        if (expected == UNSET) {
            throw ApiException.authentication("The admin API is disabled: the operator has not set TOLLGATE_ADMIN_TOKEN");
        }
        String header = request.getHeaderString("authorization");
        String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
                ? header.substring(7).trim() : "";
        // Digests have equal length, so the comparison time says nothing about the token.
        if (!MessageDigest.isEqual(expected, sha256(presented))) {
            throw ApiException.authentication("Invalid admin token");
        }
    }

    /** The admin token, compared in constant time (the console's sign-in); false while none is set. */
    public boolean accepts(String presented) {
        byte[] expected = digest();
        return expected != UNSET && presented != null && MessageDigest.isEqual(expected, sha256(presented));
    }

    /**
     * Who is acting, for the audit log: a fingerprint of the admin token (never the token), so a
     * rotated token shows up as a different actor.
     */
    public String actor() {
        byte[] d = digest();
        return d == UNSET ? "admin:none" : "admin:" + java.util.HexFormat.of().formatHex(d, 0, 4);
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
