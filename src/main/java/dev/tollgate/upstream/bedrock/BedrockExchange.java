package dev.tollgate.upstream.bedrock;

import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamExchange;
import dev.tollgate.upstream.UpstreamResponse;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;

/**
 * One InvokeModel(WithResponseStream) call and its answer, read as Anthropic's: a JSON message as
 * it came, an AWS error as Anthropic's envelope and status, an event stream as SSE.
 */
final class BedrockExchange implements UpstreamExchange, UpstreamResponse {

    private static final String SSE = "text/event-stream; charset=utf-8";

    private final BedrockDialect dialect;
    private final UpstreamClient client;
    private final HttpClientRequest request;
    private final String uri;
    private final MultiMap clientHeaders;
    private final boolean stream;
    private HttpClientResponse response;
    private BedrockErrors.Mapped error;
    private boolean eventStream;
    private EventStreamSse frames;
    private Handler<Buffer> handler;
    private Handler<Throwable> exceptionHandler;
    private boolean broken;

    BedrockExchange(BedrockDialect dialect, UpstreamClient client, HttpClientRequest request, String uri,
                    MultiMap clientHeaders, boolean stream) {
        this.dialect = dialect;
        this.client = client;
        this.request = request;
        this.uri = uri;
        this.clientHeaders = clientHeaders;
        this.stream = stream;
    }

    @Override
    public Future<UpstreamResponse> send(byte[] body) {
        byte[] invoke;
        try {
            invoke = dialect.invokeBody(body, clientHeaders);
            dialect.authorize(request, uri, invoke, stream);
        } catch (RuntimeException e) {
            request.reset();
            return Future.failedFuture(e);
        }
        return client.send(request, Buffer.buffer(invoke), "/v1/messages").map(this::received);
    }

    private UpstreamResponse received(HttpClientResponse r) {
        response = r;
        if (r.statusCode() != 200) {
            error = BedrockErrors.of(r.statusCode(), r.getHeader("x-amzn-errortype"), null);
        } else {
            String type = r.getHeader("content-type");
            eventStream = type != null && type.startsWith("application/vnd.amazon.eventstream");
        }
        return this;
    }

    @Override
    public void reset() {
        request.reset();
    }

    @Override
    public int status() {
        return error == null ? 200 : error.status();
    }

    @Override
    public MultiMap headers() {
        return response.headers();
    }

    @Override
    public String contentType() {
        return eventStream ? SSE : error != null ? "application/json" : response.getHeader("content-type");
    }

    @Override
    public String requestId() {
        return response.getHeader("x-amzn-requestid");
    }

    @Override
    public Future<Buffer> body() {
        if (error == null) {
            return response.body();
        }
        // The status is known from the head; the message needs the body (and its x-amzn-ErrorType fallback).
        return response.body().map(b -> {
            error = BedrockErrors.of(response.statusCode(), response.getHeader("x-amzn-errortype"), b.getBytes());
            return Buffer.buffer(error.envelope());
        });
    }

    @Override
    public void handler(Handler<Buffer> handler) {
        if (!eventStream) {
            response.handler(handler);
            return;
        }
        this.handler = handler;
        frames = new EventStreamSse();
        response.handler(this::onChunk);
    }

    private void onChunk(Buffer chunk) {
        if (broken) {
            return;
        }
        Buffer sse;
        try {
            sse = frames.feed(chunk);
        } catch (RuntimeException e) {
            // A frame that fails its checksum or cannot be read: the stream is cut here.
            broken = true;
            request.reset();
            if (exceptionHandler != null) {
                exceptionHandler.handle(new IllegalStateException("Bedrock event stream unreadable: " + e.getMessage(), e));
            }
            return;
        }
        if (sse != null) {
            handler.handle(sse);
        }
    }

    @Override
    public void exceptionHandler(Handler<Throwable> handler) {
        this.exceptionHandler = handler;
        response.exceptionHandler(t -> {
            if (!broken) {
                handler.handle(t);
            }
        });
    }

    @Override
    public void endHandler(Handler<Void> handler) {
        response.endHandler(v -> {
            if (!broken) {
                handler.handle(v);
            }
        });
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
