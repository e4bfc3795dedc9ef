package dev.tollgate.upstream;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;

/**
 * The streaming half of an {@link UpstreamResponse} whose bytes are the HTTP response's own (Anthropic
 * and Vertex send SSE as it is): chunks, errors, end and back-pressure go straight to the response.
 */
public abstract class HttpResponseStream implements UpstreamResponse {

    /** Set once the response head has arrived. */
    protected HttpClientResponse response;

    @Override
    public void handler(Handler<Buffer> handler) {
        response.handler(handler);
    }

    @Override
    public void exceptionHandler(Handler<Throwable> handler) {
        response.exceptionHandler(handler);
    }

    @Override
    public void endHandler(Handler<Void> handler) {
        response.endHandler(handler);
    }

    @Override
    public void pause() {
        response.pause();
    }

    @Override
    public void resume() {
        response.resume();
    }
}
