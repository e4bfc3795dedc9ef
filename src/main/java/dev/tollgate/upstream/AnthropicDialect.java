package dev.tollgate.upstream;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;

/**
 * Anthropic's API (or anything speaking its wire format): the call's bytes go as they are, to
 * {@code /v1/messages}, with the operator's key; the answer comes back as it is.
 */
public final class AnthropicDialect implements UpstreamDialect {

    private final UpstreamTarget target;

    public AnthropicDialect(UpstreamTarget target) {
        this.target = target;
    }

    @Override
    public Future<UpstreamExchange> open(UpstreamClient client, String modelId, String query, MultiMap clientHeaders,
                                         boolean stream) {
        return client.open(target, HttpMethod.POST, query == null ? "/v1/messages" : "/v1/messages?" + query,
                clientHeaders, stream).map(request -> new Exchange(client, request));
    }

    @Override
    public Future<UpstreamClient.Answer> countTokens(UpstreamClient client, String modelId, byte[] body,
                                                     MultiMap clientHeaders, String query) {
        return client.open(target, HttpMethod.POST,
                        query == null ? "/v1/messages/count_tokens" : "/v1/messages/count_tokens?" + query, clientHeaders,
                        false)
                .compose(req -> client.send(req, body))
                .compose(resp -> resp.body().map(b -> new UpstreamClient.Answer(resp.statusCode(), resp.headers(), b)));
    }

    /** The request, then its response: one object for both, so a call costs one allocation more than a bare client. */
    private static final class Exchange extends HttpResponseStream implements UpstreamExchange,
            java.util.function.Function<HttpClientResponse, UpstreamResponse> {

        private final UpstreamClient client;
        private final HttpClientRequest request;

        Exchange(UpstreamClient client, HttpClientRequest request) {
            this.client = client;
            this.request = request;
        }

        @Override
        public Future<UpstreamResponse> send(byte[] body) {
            return client.send(request, body).map(this);
        }

        /** The response head arrived (the exchange is its own mapping function: nothing allocated for it). */
        @Override
        public UpstreamResponse apply(HttpClientResponse r) {
            response = r;
            return this;
        }

        @Override
        public void reset() {
            request.reset();
        }

        @Override
        public int status() {
            return response.statusCode();
        }

        @Override
        public MultiMap headers() {
            return response.headers();
        }

        @Override
        public String contentType() {
            return response.getHeader("content-type");
        }

        @Override
        public String requestId() {
            return response.getHeader("request-id");
        }

        @Override
        public Future<Buffer> body() {
            return response.body();
        }
    }
}
