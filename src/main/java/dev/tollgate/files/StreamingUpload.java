package dev.tollgate.files;

import dev.tollgate.api.ApiException;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.Upstream;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Sends a client's request body (a multipart upload of up to 500 MB) to the upstream as it arrives,
 * with back-pressure, never holding it whole: the client's Content-Type (and its multipart
 * boundary) and Content-Length go with it. Bytes beyond {@code maxBytes} abort the upload (413).
 * The client's request must be paused until {@link #send} is called.
 * <p>The upstream request's timeout counts time without response data, which never comes while a
 * body is still being sent: it is re-armed as the body flows, so a slow but moving 500 MB upload is
 * not cut off, while one that stalls for the whole timeout still is.
 */
final class StreamingUpload {

    private static final long REARM_EVERY_NANOS = 1_000_000_000L;

    private StreamingUpload() {
    }

    /** The upstream's whole answer (a small JSON object), or a failure ({@link ApiException} 413 when too large). */
    static Future<UpstreamClient.Answer> send(UpstreamClient client, Upstream upstream, HttpMethod method, String path,
                                              RoutingContext ctx, long maxBytes) {
        HttpServerRequest in = ctx.request();
        Promise<UpstreamClient.Answer> answer = Promise.promise();
        client.open(upstream.target(), method, path, in.headers(), false).onFailure(answer::tryFail).onSuccess(out -> {
            out.putHeader("content-type", in.getHeader("content-type"));
            String length = in.getHeader("content-length");
            if (length != null) {
                out.putHeader("content-length", length);
            } else {
                out.setChunked(true);
            }
            out.response().compose(resp -> resp.body().map(b -> new UpstreamClient.Answer(resp.statusCode(), resp.headers(), b)))
                    .onComplete(ar -> {
                        if (ar.succeeded()) {
                            answer.tryComplete(ar.result());
                        } else {
                            answer.tryFail(ar.cause());
                        }
                    });
            pipe(in, out, maxBytes, client.responseTimeoutMillis(), answer);
        });
        return answer.future();
    }

    private static void pipe(HttpServerRequest in, HttpClientRequest out, long maxBytes, long timeoutMillis,
                             Promise<UpstreamClient.Answer> answer) {
        long[] seen = {0};
        long[] armedAt = {System.nanoTime()};
        in.handler(chunk -> {
            if (answer.future().isComplete()) {
                return;
            }
            seen[0] += chunk.length();
            if (seen[0] > maxBytes) {
                // Failed first: resetting the upstream request fails its response too, which must not win.
                answer.tryFail(ApiException.tooLarge("Request exceeds the maximum allowed number of bytes (" + maxBytes + ")"));
                out.reset();
                return;
            }
            out.write(chunk);
            long now = System.nanoTime();
            if (now - armedAt[0] > REARM_EVERY_NANOS) {
                armedAt[0] = now;
                out.idleTimeout(timeoutMillis);
            }
            if (out.writeQueueFull()) {
                in.pause();
                out.drainHandler(v -> in.resume());
            }
        });
        in.exceptionHandler(t -> {
            answer.tryFail(t);
            out.reset();
        });
        in.endHandler(v -> {
            if (!answer.future().isComplete()) {
                out.idleTimeout(timeoutMillis); // from here: the upstream's answer
                out.end();
            }
        });
        in.resume();
    }
}
