package dev.tollgate.upstream;

import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.ops.CallMetrics;
import io.quarkus.logging.Log;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.ConnectException;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;

/**
 * The one connection to upstream Claude (Anthropic's API, or anything speaking its wire format).
 * Bodies go out as the bytes the client sent; the client's credentials never do: the operator's
 * key replaces them, and only the anthropic-* protocol headers are passed through.
 */
@ApplicationScoped
public class UpstreamClient {

    private final Vertx vertx;
    private final HttpClientOptions clientOptions;
    private final PoolOptions pool;
    /** For callers off the event loops (count_tokens for an exact hold, on a virtual thread). */
    private final HttpClient shared;
    /**
     * One client per event loop: a pool's connections live on the event loop that opened them, and
     * a call served on one loop but relayed over another's connection pays a thread hand-off for
     * every event of the upstream exchange. Per-loop pools keep a call on its own loop throughout.
     */
    private final Map<Thread, HttpClient> perEventLoop = new ConcurrentHashMap<>();
    private final String host;
    private final int port;
    private final String basePath;
    private final String apiKey;
    private final TollgateConfig.Upstream config;
    private final CallMetrics metrics;

    public UpstreamClient(Vertx vertx, TollgateConfig tollgate, CallMetrics metrics) {
        this.config = tollgate.upstream();
        this.metrics = metrics;
        URI base = URI.create(config.baseUrl());
        boolean tls = "https".equalsIgnoreCase(base.getScheme());
        this.host = base.getHost();
        this.port = base.getPort() > 0 ? base.getPort() : (tls ? 443 : 80);
        String path = base.getRawPath() == null ? "" : base.getRawPath();
        this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        this.apiKey = config.apiKey().filter(k -> !k.isBlank()).orElse(null);
        if (apiKey == null) {
            Log.warn("TOLLGATE_UPSTREAM_API_KEY is not set: every call to Claude will fail with 502");
        }
        this.vertx = vertx;
        this.clientOptions = new HttpClientOptions()
                .setSsl(tls)
                .setUseAlpn(tls)
                .setTrustAll(false)
                .setVerifyHost(true)
                .setKeepAlive(true)
                .setKeepAliveTimeout((int) Math.max(1, config.keepAliveTimeout().toSeconds()))
                .setTcpNoDelay(true)
                .setDecompressionSupported(false)
                .setConnectTimeout((int) config.connectTimeout().toMillis());
        this.pool = new PoolOptions().setHttp1MaxSize(config.maxConnections());
        this.shared = vertx.createHttpClient(clientOptions, pool);
    }

    private HttpClient client() {
        Context context = Vertx.currentContext();
        if (context == null || !context.isEventLoopContext()) {
            return shared;
        }
        return perEventLoop.computeIfAbsent(Thread.currentThread(), loop -> vertx.createHttpClient(clientOptions, pool));
    }

    /**
     * Sends one request upstream. {@code clientHeaders} are the caller's request headers, of
     * which only anthropic-version and anthropic-beta are forwarded.
     */
    public Future<HttpClientRequest> open(HttpMethod method, String pathAndQuery, MultiMap clientHeaders,
                                          boolean stream) {
        if (apiKey == null) {
            return Future.failedFuture(ApiException.upstreamUnavailable(
                    "The gateway has no upstream credentials configured; the operator must set TOLLGATE_UPSTREAM_API_KEY"));
        }
        long timeout = (stream ? config.streamIdleTimeout() : config.responseTimeout()).toMillis();
        RequestOptions options = new RequestOptions()
                .setMethod(method)
                .setHost(host)
                .setPort(port)
                .setURI(basePath + pathAndQuery)
                .setConnectTimeout(config.connectTimeout().toMillis())
                .setIdleTimeout(timeout);
        options.putHeader("x-api-key", apiKey);
        String version = clientHeaders.get("anthropic-version");
        options.putHeader("anthropic-version", version != null ? version : config.defaultVersion());
        for (String beta : clientHeaders.getAll("anthropic-beta")) {
            options.addHeader("anthropic-beta", beta);
        }
        options.putHeader("content-type", "application/json");
        options.putHeader("accept", stream ? "text/event-stream" : "application/json");
        return client().request(options);
    }

    /** Sends a body and waits for the response head. */
    public Future<io.vertx.core.http.HttpClientResponse> send(HttpClientRequest request, byte[] body) {
        return metrics.timeUpstream(request.path().substring(basePath.length()), request.send(Buffer.buffer(body)));
    }

    /** Maps a transport failure to what the client sees: 504 for a timeout, 502 otherwise. */
    public static ApiException classify(Throwable failure) {
        if (failure instanceof ApiException api) {
            return api;
        }
        String name = failure.getClass().getName().toLowerCase(Locale.ROOT);
        String message = String.valueOf(failure.getMessage()).toLowerCase(Locale.ROOT);
        if (failure instanceof TimeoutException || name.contains("timeout") || message.contains("timeout")
                || message.contains("timed out")) {
            return ApiException.upstreamTimeout("The upstream Claude API did not answer in time");
        }
        if (failure instanceof ConnectException || message.contains("connection refused")) {
            return ApiException.upstreamUnavailable("The upstream Claude API could not be reached");
        }
        return ApiException.upstreamUnavailable("The connection to the upstream Claude API failed");
    }

    @PreDestroy
    void close() {
        shared.close();
        perEventLoop.values().forEach(HttpClient::close);
    }
}
