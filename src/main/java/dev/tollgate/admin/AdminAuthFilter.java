package dev.tollgate.admin;

import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import jakarta.ws.rs.container.ContainerRequestContext;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** Guards /admin/*: Authorization: Bearer TOLLGATE_ADMIN_TOKEN, compared in constant time. */
@Singleton
public class AdminAuthFilter {

    private final byte[] tokenDigest;

    public AdminAuthFilter(TollgateConfig config) {
        this.tokenDigest = config.adminToken().filter(t -> !t.isBlank()).map(AdminAuthFilter::sha256).orElse(null);
    }

    void logState(@Observes StartupEvent event) {
        if (tokenDigest == null) {
            Log.warn("TOLLGATE_ADMIN_TOKEN is not set: the admin API refuses every call until it is");
        }
    }

    @ServerRequestFilter(preMatching = true)
    public void authenticate(ContainerRequestContext request) {
        String path = request.getUriInfo().getPath();
        if (!path.startsWith("/admin/") && !path.equals("/admin")) {
            return;
        }
        if (tokenDigest == null) {
            throw ApiException.authentication("The admin API is disabled: the operator has not set TOLLGATE_ADMIN_TOKEN");
        }
        String header = request.getHeaderString("authorization");
        String presented = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
                ? header.substring(7).trim() : "";
        // Digests have equal length, so the comparison time says nothing about the token.
        if (!MessageDigest.isEqual(tokenDigest, sha256(presented))) {
            throw ApiException.authentication("Invalid admin token");
        }
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
