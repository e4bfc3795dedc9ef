package dev.tollgate.upstream.vertex;

import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import com.google.auth.oauth2.ServiceAccountCredentials;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * OAuth2 access tokens of one service account, by Google's auth library (the JWT-bearer grant at
 * the account's token endpoint, scope cloud-platform). A token is cached and refreshed before it
 * expires: within {@link #REFRESH_AHEAD_MS} of its expiry a call still uses it while one refresh
 * runs in the background; only a call with no valid token waits for it. The library's refresh is
 * blocking HTTP, so it runs on a virtual thread, never on an event loop. Tokens are never logged.
 */
final class VertexTokens {

    static final String SCOPE = "https://www.googleapis.com/auth/cloud-platform";
    /** Refresh this long before expiry (Google's tokens last an hour). */
    static final long REFRESH_AHEAD_MS = 5 * 60_000;
    /** A token closer than this to its expiry is not used at all. */
    private static final long MIN_VALIDITY_MS = 30_000;
    private static final ExecutorService REFRESHES = Executors.newVirtualThreadPerTaskExecutor();

    private final GoogleCredentials credentials;
    private String token;
    private long expiresAtMillis;
    private CompletableFuture<Void> refreshing;

    private VertexTokens(GoogleCredentials credentials) {
        this.credentials = credentials;
    }

    /**
     * @throws IllegalArgumentException unless {@code serviceAccountJson} is a service account's key file
     */
    static VertexTokens of(String serviceAccountJson, String tokenUrl) {
        ServiceAccountCredentials account = parse(serviceAccountJson);
        ServiceAccountCredentials.Builder builder = account.toBuilder().setScopes(List.of(SCOPE));
        if (tokenUrl != null) {
            builder.setTokenServerUri(URI.create(tokenUrl));
        }
        return new VertexTokens(builder.build());
    }

    /** @throws IllegalArgumentException unless the JSON is a service account's key file */
    static ServiceAccountCredentials parse(String serviceAccountJson) {
        try {
            return ServiceAccountCredentials.fromStream(
                    new ByteArrayInputStream(serviceAccountJson.getBytes(StandardCharsets.UTF_8)));
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a service account key file (type service_account with"
                    + " client_email, private_key and private_key_id)");
        }
    }

    /** A valid access token, on the caller's context. */
    Future<String> token(Vertx vertx) {
        CompletableFuture<Void> wait;
        synchronized (this) {
            long now = System.currentTimeMillis();
            long left = expiresAtMillis - now;
            if (token != null && left > REFRESH_AHEAD_MS) {
                return Future.succeededFuture(token);
            }
            if (refreshing == null) {
                refreshing = CompletableFuture.runAsync(this::refresh, REFRESHES);
            }
            if (token != null && left > MIN_VALIDITY_MS) {
                return Future.succeededFuture(token); // refreshed in the background meanwhile
            }
            wait = refreshing;
        }
        Context context = vertx.getOrCreateContext();
        return Future.fromCompletionStage(wait, context).map(v -> current());
    }

    private synchronized String current() {
        if (token == null) {
            throw new IllegalStateException("no Vertex AI access token");
        }
        return token;
    }

    private void refresh() {
        try {
            credentials.refresh();
            AccessToken fresh = credentials.getAccessToken();
            synchronized (this) {
                token = fresh.getTokenValue();
                expiresAtMillis = fresh.getExpirationTime() != null ? fresh.getExpirationTime().getTime()
                        : System.currentTimeMillis() + 55 * 60_000;
            }
        } catch (IOException e) {
            throw new IllegalStateException("Vertex AI access token could not be had: " + e.getMessage());
        } finally {
            synchronized (this) {
                refreshing = null;
            }
        }
    }
}
