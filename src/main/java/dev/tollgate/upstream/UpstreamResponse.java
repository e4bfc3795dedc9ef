package dev.tollgate.upstream;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

/**
 * An upstream's answer as Anthropic's API would give it: its status (an error mapped to Anthropic's
 * status), a JSON body (an error as Anthropic's envelope), or SSE bytes to pass through (back-pressure
 * by {@link #pause()} / {@link #resume()}). Used on its call's event loop only.
 */
public interface UpstreamResponse {

    int status();

    /** The upstream's response headers (retry hints are read from them). */
    MultiMap headers();

    /** {@code text/event-stream...} for a stream, {@code application/json} otherwise. */
    String contentType();

    /** The upstream's id of the exchange, for the usage record; null if it gave none. */
    String requestId();

    /** The whole body (JSON, or an error envelope). */
    Future<Buffer> body();

    /** Stream chunks: SSE bytes, each handed over as soon as it is complete. */
    void handler(Handler<Buffer> handler);

    void exceptionHandler(Handler<Throwable> handler);

    void endHandler(Handler<Void> handler);

    void pause();

    void resume();
}
