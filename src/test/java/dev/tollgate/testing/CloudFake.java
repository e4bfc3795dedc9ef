package dev.tollgate.testing;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the fake clouds share: a Vert.x server on 127.0.0.1, the requests it received, and the model
 * behind it, a {@link FakeUpstream} that plays the conversation (its {@link Scenario}s are queued on
 * {@link #anthropic()}), to which each fake forwards the call once translated back to Anthropic's API.
 */
public abstract class CloudFake implements AutoCloseable {

    protected final Vertx vertx = Vertx.vertx();
    protected final FakeUpstream anthropic = FakeUpstream.start();
    protected final HttpClient inner = vertx.createHttpClient();
    private final HttpServer server;
    private final List<RecordedRequest> recorded = Collections.synchronizedList(new ArrayList<>());
    private final java.util.concurrent.atomic.AtomicInteger closedEarly = new java.util.concurrent.atomic.AtomicInteger();

    protected CloudFake() {
        try {
            server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                    .requestHandler(req -> req.body().onSuccess(body -> {
                        Map<String, String> headers = new LinkedHashMap<>();
                        req.headers().forEach(e -> headers.merge(e.getKey().toLowerCase(Locale.ROOT), e.getValue(),
                                (a, b) -> a + ", " + b));
                        recorded.add(new RecordedRequest(req.method().name(), req.uri(), headers, body.getBytes()));
                        handle(req, body.getBytes());
                    }))
                    .listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("could not start " + getClass().getSimpleName(), e);
        }
    }

    protected abstract void handle(HttpServerRequest req, byte[] body);

    /** The model behind the cloud: queue scenarios here. */
    public FakeUpstream anthropic() {
        return anthropic;
    }

    public int port() {
        return server.actualPort();
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port();
    }

    public List<RecordedRequest> requests() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    public RecordedRequest lastRequest() {
        synchronized (recorded) {
            return recorded.isEmpty() ? null : recorded.get(recorded.size() - 1);
        }
    }

    /** Responses whose connection the caller closed before they ended (a stream it stopped). */
    public int closedEarly() {
        return closedEarly.get();
    }

    /** Relays a streamed answer of the model behind; stops it when the caller goes away. */
    protected void relay(HttpClientResponse answer, io.vertx.core.http.HttpServerResponse resp,
                         io.vertx.core.Handler<Buffer> chunks) {
        resp.closeHandler(v -> {
            if (!resp.ended()) {
                closedEarly.incrementAndGet();
                answer.request().reset();
            }
        });
        answer.handler(chunks);
        answer.exceptionHandler(t -> resp.reset());
        answer.endHandler(v -> {
            if (!resp.closed()) {
                resp.end();
            }
        });
    }

    public void reset() {
        closedEarly.set(0);
        recorded.clear();
        anthropic.reset();
    }

    /** Sends an Anthropic request to the model behind the cloud. */
    protected io.vertx.core.Future<HttpClientResponse> toAnthropic(String path, byte[] body, List<String> betas) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
                .setPort(anthropic.port()).setURI(path);
        MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("x-api-key", FakeUpstream.API_KEY)
                .add("anthropic-version", "2023-06-01").add("content-type", "application/json");
        for (String beta : betas) {
            headers.add("anthropic-beta", beta);
        }
        options.setHeaders(headers);
        return inner.request(options).compose(r -> r.send(Buffer.buffer(body)));
    }

    @Override
    public void close() {
        anthropic.close();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // best effort
        }
    }
}
