package dev.tollgate.batches;

import dev.tollgate.api.ApiException;
import dev.tollgate.api.BodyReader;
import dev.tollgate.api.ErrorResponder;
import io.quarkus.logging.Log;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.FileSystem;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A batch create body (up to 256 MB) written to a temporary file as it arrives, so that no create
 * holds it in memory. Over the limit the client gets 413 request_too_large at once (from
 * Content-Length, or as soon as the streamed bytes pass it) and the connection is closed. Whoever
 * gets the file deletes it.
 */
final class BatchSpool {

    private BatchSpool() {
    }

    static void receive(RoutingContext ctx, long maxBytes, Consumer<Path> then) {
        HttpServerRequest request = ctx.request();
        if (BodyReader.declaredOver(request, maxBytes)) {
            tooLarge(ctx, maxBytes);
            return;
        }
        request.pause();
        FileSystem fs = ctx.vertx().fileSystem();
        fs.createTempFile("tollgate-batch-", ".json")
                .onFailure(t -> failed(ctx, t))
                .onSuccess(name -> fs.open(name, new OpenOptions().setWrite(true))
                        .onFailure(t -> {
                            fs.delete(name);
                            failed(ctx, t);
                        })
                        .onSuccess(file -> pipe(ctx, file, name, maxBytes, then)));
    }

    private static void pipe(RoutingContext ctx, AsyncFile file, String name, long maxBytes, Consumer<Path> then) {
        HttpServerRequest request = ctx.request();
        long[] seen = {0};
        boolean[] stopped = {false};
        request.handler(chunk -> {
            if (stopped[0]) {
                return;
            }
            seen[0] += chunk.length();
            if (seen[0] > maxBytes) {
                stopped[0] = true;
                discard(ctx, file, name);
                tooLarge(ctx, maxBytes);
                return;
            }
            file.write(chunk);
            if (file.writeQueueFull()) {
                request.pause();
                file.drainHandler(v -> request.resume());
            }
        });
        request.exceptionHandler(t -> {
            if (!stopped[0]) {
                stopped[0] = true;
                discard(ctx, file, name);
            }
        });
        request.endHandler(v -> {
            if (!stopped[0]) {
                file.close().onSuccess(x -> then.accept(Path.of(name))).onFailure(t -> {
                    ctx.vertx().fileSystem().delete(name);
                    failed(ctx, t);
                });
            }
        });
        request.resume();
    }

    private static void discard(RoutingContext ctx, AsyncFile file, String name) {
        file.close().onComplete(v -> ctx.vertx().fileSystem().delete(name));
    }

    private static void tooLarge(RoutingContext ctx, long maxBytes) {
        ctx.response().putHeader("connection", "close");
        // Before the response ends: registering an end handler on an ended response throws.
        ctx.response().endHandler(v -> ctx.request().connection().close());
        ErrorResponder.send(ctx, ApiException.tooLarge("Request exceeds the maximum allowed number of bytes ("
                + maxBytes + ")"));
    }

    private static void failed(RoutingContext ctx, Throwable t) {
        Log.errorf(t, "A batch create body could not be spooled to a temporary file");
        ErrorResponder.send(ctx, new ApiException(500, "api_error", "The batch could not be received; try again"));
    }
}
