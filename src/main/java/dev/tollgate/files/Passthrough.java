package dev.tollgate.files;

import dev.tollgate.api.ApiException;
import dev.tollgate.api.ErrorResponder;
import dev.tollgate.gateway.Gateway;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamRefusals;
import dev.tollgate.upstream.pool.Upstream;
import dev.tollgate.upstream.pool.UpstreamPool;
import io.quarkus.logging.Log;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.FileSystem;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Singleton;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * What the stored-resource surfaces (Message Batches, Files, Skills) share: blocking work off the
 * event loop with errors in Anthropic's envelope, the upstream a resource lives on, and exchanges
 * with it whose refusals reach the customer as the relay's other refusals do.
 */
@Singleton
public class Passthrough {

    public final Gateway gateway;
    public final UpstreamClient client;
    private final UpstreamPool pool;

    public Passthrough(Gateway gateway, UpstreamClient client, UpstreamPool pool) {
        this.gateway = gateway;
        this.client = client;
        this.pool = pool;
    }

    /**
     * Runs {@code work} on a virtual thread (the database, authentication), then {@code then} back on
     * the caller's event-loop context; an {@link ApiException} from either becomes the error response.
     */
    public <T> void blocking(RoutingContext ctx, Callable<T> work, Consumer<T> then) {
        Context context = Vertx.currentContext();
        gateway.blocking().execute(() -> {
            T result;
            try {
                result = work.call();
            } catch (ApiException e) {
                context.runOnContext(v -> {
                    if (!ctx.request().isEnded()) {
                        // A body left unread (an upload refused before it was read): the connection cannot be reused.
                        ctx.response().putHeader("connection", "close");
                        ctx.response().endHandler(x -> ctx.request().connection().close());
                    }
                    ErrorResponder.send(ctx, e);
                });
                return;
            } catch (Exception e) {
                Log.errorf(e, "Request failed before reaching upstream");
                context.runOnContext(v -> ErrorResponder.send(ctx, new ApiException(500, "api_error",
                        "Internal error; nothing was sent upstream")));
                return;
            }
            context.runOnContext(v -> {
                try {
                    then.accept(result);
                } catch (ApiException e) {
                    ErrorResponder.send(ctx, e);
                }
            });
        });
    }

    public AuthenticatedKey authenticate(RoutingContext ctx) {
        return gateway.authenticate(ctx.request());
    }

    /** Where a new resource of {@code accountId} goes: the first Anthropic-kind upstream in its rendezvous order. */
    public Upstream newResourceUpstream(UUID accountId) {
        List<Upstream> candidates = pool.storageUpstreams(accountId.toString());
        if (candidates.isEmpty()) {
            throw ApiException.upstreamUnavailable("No upstream of the Anthropic kind is available for this API");
        }
        return candidates.get(0);
    }

    /** The upstream a stored resource lives on. */
    public Upstream upstreamOf(UUID upstreamId) {
        return pool.find(upstreamId).filter(u -> u.enabled() && u.target() != null)
                .orElseThrow(() -> ApiException.upstreamUnavailable(
                        "The upstream that stores this resource is not available"));
    }

    /**
     * A download (batch results, file content) streamed through as the upstream sends it, never whole
     * in memory; a refusal reaches the customer as the relay's other refusals do.
     */
    public void download(RoutingContext ctx, Upstream upstream, String pathAndQuery, String defaultType) {
        String accept = ctx.request().getHeader("accept");
        client.open(upstream.target(), HttpMethod.GET, pathAndQuery, ctx.request().headers(), false)
                .compose(req -> {
                    req.putHeader("accept", accept != null ? accept : "application/binary");
                    return req.send();
                })
                .onSuccess(resp -> {
                    if (resp.statusCode() != 200) {
                        resp.body().onSuccess(b -> refuse(ctx, new UpstreamClient.Answer(resp.statusCode(), resp.headers(), b)));
                        return;
                    }
                    String type = resp.getHeader("content-type");
                    String length = resp.getHeader("content-length");
                    ctx.response().setStatusCode(200).putHeader("content-type", type != null ? type : defaultType);
                    if (length != null) {
                        ctx.response().putHeader("content-length", length);
                    } else {
                        ctx.response().setChunked(true);
                    }
                    resp.pipeTo(ctx.response());
                })
                .onFailure(t -> failed(ctx, t));
    }

    /** One exchange with its whole answer (on the caller's event loop). */
    public Future<UpstreamClient.Answer> exchange(Upstream upstream, HttpMethod method, String pathAndQuery,
                                                  RoutingContext ctx, byte[] body) {
        return client.open(upstream.target(), method, pathAndQuery, ctx.request().headers(), false)
                .compose(req -> client.send(req, body == null ? new byte[0] : body))
                .compose(resp -> resp.body().map(b -> new UpstreamClient.Answer(resp.statusCode(), resp.headers(), b)));
    }

    /** As {@link #exchange(Upstream, HttpMethod, String, RoutingContext, byte[])}, the body streamed from a file. */
    public Future<UpstreamClient.Answer> exchangeFile(Upstream upstream, HttpMethod method, String pathAndQuery,
                                                      RoutingContext ctx, Path body) {
        FileSystem fs = ctx.vertx().fileSystem();
        return client.open(upstream.target(), method, pathAndQuery, ctx.request().headers(), false)
                .compose(req -> fs.props(body.toString()).compose(props -> fs.open(body.toString(),
                        new OpenOptions().setRead(true)).compose(file -> {
                            req.putHeader("content-length", Long.toString(props.size()));
                            return req.send(file).onComplete(ar -> file.close());
                        })))
                .compose(resp -> resp.body().map(b -> new UpstreamClient.Answer(resp.statusCode(), resp.headers(), b)));
    }

    /** The upstream's refusal as the customer sees it, or a transport failure as 502/504. */
    public static void refuse(RoutingContext ctx, UpstreamClient.Answer answer) {
        ErrorResponder.send(ctx, UpstreamRefusals.refusal(answer.status(), answer.headers(), answer.body()));
    }

    public static void failed(RoutingContext ctx, Throwable failure) {
        Log.warnf("Upstream exchange for %s failed: %s", ctx.request().path(), failure.toString());
        ErrorResponder.send(ctx, UpstreamClient.classify(failure));
    }

    /** A 2xx answer's body to the client, with the upstream's content type. */
    public static void respond(RoutingContext ctx, UpstreamClient.Answer answer, Buffer body) {
        if (ctx.response().closed()) {
            return;
        }
        String type = answer.headers().get("content-type");
        ctx.response().setStatusCode(answer.status())
                .putHeader("content-type", type != null ? type : "application/json").end(body);
    }

    public static void respondJson(RoutingContext ctx, int status, byte[] json) {
        if (!ctx.response().closed()) {
            ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(Buffer.buffer(json));
        }
    }

    /** The query string of the client's request, "?..." or "". */
    public static String query(RoutingContext ctx) {
        String q = ctx.request().query();
        return q == null || q.isEmpty() ? "" : "?" + q;
    }

    public static boolean ok(int status) {
        return status >= 200 && status < 300;
    }
}
