package dev.tollgate.upstream;

import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.ops.CallMetrics;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
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
    private final TollgateConfig.Upstream config;
    private final CallMetrics metrics;

    public UpstreamClient(Vertx vertx, TollgateConfig tollgate, CallMetrics metrics) {
        this.config = tollgate.upstream();
        this.metrics = metrics;
        this.vertx = vertx;
        // TLS is chosen per request (each upstream's own URL); ALPN only acts on TLS connections.
        this.clientOptions = new HttpClientOptions()
                .setUseAlpn(true)
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
     * Opens one request to {@code target}: the returned future completes once a connection is
     * ready, so its failure means nothing was sent. {@code clientHeaders} are the caller's request
     * headers, of which only anthropic-version and anthropic-beta are forwarded.
     */
    public Future<HttpClientRequest> open(UpstreamTarget target, HttpMethod method, String pathAndQuery,
                                          MultiMap clientHeaders, boolean stream) {
        long timeout = (stream ? config.streamIdleTimeout() : config.responseTimeout()).toMillis();
        RequestOptions options = new RequestOptions()
                .setMethod(method)
                .setHost(target.host())
                .setPort(target.port())
                .setSsl(target.tls())
                .setURI(target.basePath() + pathAndQuery)
                .setConnectTimeout(config.connectTimeout().toMillis())
                .setIdleTimeout(timeout);
        options.putHeader("x-api-key", target.apiKey());
        String version = clientHeaders.get("anthropic-version");
        options.putHeader("anthropic-version", version != null ? version : config.defaultVersion());
        for (String beta : clientHeaders.getAll("anthropic-beta")) {
            options.addHeader("anthropic-beta", beta);
        }
        options.putHeader("content-type", "application/json");
        options.putHeader("accept", stream ? "text/event-stream" : "application/json");
        return client().request(options);
    }

    /** How long a non-streaming exchange may go without data (an upload re-arms it while its body flows). */
    public long responseTimeoutMillis() {
        return config.responseTimeout().toMillis();
    }

    /** Sends a body and waits for the response head. */
    public Future<io.vertx.core.http.HttpClientResponse> send(HttpClientRequest request, byte[] body) {
        String path = request.path();
        return metrics.timeUpstream(path.substring(Math.max(0, path.indexOf("/v1/"))), request.send(Buffer.buffer(body)));
    }

    /**
     * For other upstream kinds: a request to {@code target}'s host at {@code uri} (the whole path),
     * with this client's timeouts and no headers yet; the dialect adds its own auth and headers.
     * Same connection pools, and same meaning of failure, as {@link #open}.
     */
    public Future<HttpClientRequest> openRaw(UpstreamTarget target, String uri, boolean stream) {
        long timeout = (stream ? config.streamIdleTimeout() : config.responseTimeout()).toMillis();
        return client().request(new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setHost(target.host())
                .setPort(target.port())
                .setSsl(target.tls())
                .setURI(uri)
                .setConnectTimeout(config.connectTimeout().toMillis())
                .setIdleTimeout(timeout));
    }

    /** Sends a body built by a dialect, timed under {@code metricPath} (an Anthropic path, never a model id). */
    public Future<io.vertx.core.http.HttpClientResponse> send(HttpClientRequest request, Buffer body, String metricPath) {
        return metrics.timeUpstream(metricPath, request.send(body));
    }

    /** The anthropic-version a call goes out with: the client's, else the configured default. */
    public String anthropicVersion(MultiMap clientHeaders) {
        String version = clientHeaders.get("anthropic-version");
        return version != null ? version : config.defaultVersion();
    }

    public Vertx vertx() {
        return vertx;
    }

    /**
     * Runs an exchange from a thread off the event loops (a virtual thread, a REST worker) on an
     * event-loop context: built from another thread, a response's body handler could be set after
     * the body had already arrived (a small answer comes with its head).
     */
    public <T> Future<T> onContext(java.util.function.Supplier<Future<T>> exchange) {
        Promise<T> result = Promise.promise();
        vertx.getOrCreateContext().runOnContext(v -> {
            try {
                exchange.get().onComplete(result);
            } catch (RuntimeException e) {
                result.fail(e);
            }
        });
        return result.future();
    }

    /** A whole answer: status, headers and body. */
    public record Answer(int status, MultiMap headers, Buffer body) {
    }

    /**
     * One small request and its whole answer, for callers off the event loops (count_tokens for a
     * hold, an upstream's test). The exchange runs on an event-loop context: built from another
     * thread, the response's body handler could be set after the body had already arrived (a small
     * answer comes with its head), and the call would then wait for a body that never comes.
     */
    public Future<Answer> call(UpstreamTarget target, HttpMethod method, String pathAndQuery, MultiMap clientHeaders,
                               byte[] body) {
        Promise<Answer> answer = Promise.promise();
        vertx.getOrCreateContext().runOnContext(v -> open(target, method, pathAndQuery, clientHeaders, false)
                .compose(req -> send(req, body))
                .compose(resp -> resp.body().map(b -> new Answer(resp.statusCode(), resp.headers(), b)))
                .onComplete(answer));
        return answer.future();
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
