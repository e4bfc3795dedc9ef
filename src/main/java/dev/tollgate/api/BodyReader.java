package dev.tollgate.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Reads a request body up to a limit. Over the limit the client gets 413 request_too_large at
 * once (from Content-Length, or as soon as the streamed bytes pass it) and the rest is never
 * buffered: the connection is closed instead.
 */
public final class BodyReader {

    private BodyReader() {
    }

    public static void read(RoutingContext ctx, long maxBytes, Consumer<byte[]> then) {
        read(ctx, maxBytes, ErrorResponder::send, then);
    }

    /** As {@link #read(RoutingContext, long, Consumer)}, with the 413 written by the caller's API surface. */
    public static void read(RoutingContext ctx, long maxBytes, BiConsumer<RoutingContext, ApiException> sendError,
                            Consumer<byte[]> then) {
        HttpServerRequest request = ctx.request();
        if (declaredOver(request, maxBytes)) {
            refuse(ctx, maxBytes, sendError);
            return;
        }
        Buffer body = Buffer.buffer();
        boolean[] refused = {false};
        request.handler(chunk -> {
            if (refused[0]) {
                return;
            }
            if (body.length() + chunk.length() > maxBytes) {
                refused[0] = true;
                refuse(ctx, maxBytes, sendError);
            } else {
                body.appendBuffer(chunk);
            }
        });
        request.exceptionHandler(t -> refused[0] = true);
        request.endHandler(v -> {
            if (!refused[0]) {
                then.accept(body.getBytes());
            }
        });
        request.resume();
    }

    private static void refuse(RoutingContext ctx, long maxBytes, BiConsumer<RoutingContext, ApiException> sendError) {
        ctx.response().putHeader("connection", "close");
        // Before the response ends: registering an end handler on an ended response throws.
        ctx.response().endHandler(v -> ctx.request().connection().close());
        sendError.accept(ctx, ApiException.tooLarge("Request exceeds the maximum allowed number of bytes ("
                + maxBytes + ")"));
    }

    /** The request's declared Content-Length: -1 when absent, unparseable or negative. */
    public static long declaredLength(HttpServerRequest request) {
        String declared = request.getHeader("content-length");
        try {
            return declared == null ? -1 : Math.max(-1, Long.parseLong(declared.trim()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Whether a Content-Length is declared that is over {@code maxBytes} or is not a length at all. */
    public static boolean declaredOver(HttpServerRequest request, long maxBytes) {
        if (request.getHeader("content-length") == null) {
            return false;
        }
        long length = declaredLength(request);
        return length < 0 || length > maxBytes;
    }
}
