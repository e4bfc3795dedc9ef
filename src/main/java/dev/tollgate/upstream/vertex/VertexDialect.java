package dev.tollgate.upstream.vertex;

import dev.tollgate.upstream.AnthropicBody;
import dev.tollgate.upstream.HttpResponseStream;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamDialect;
import dev.tollgate.upstream.UpstreamExchange;
import dev.tollgate.upstream.UpstreamResponse;
import dev.tollgate.upstream.UpstreamTarget;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;

import java.util.Map;
import java.util.Set;

/**
 * Claude on Google Vertex AI (digest §2): rawPredict / streamRawPredict with the model in the URL,
 * {@code model} out of the body and {@code anthropic_version: vertex-2023-10-16} in it,
 * {@code stream} and the {@code anthropic-beta} header kept; a service account's OAuth2 access
 * token as the bearer. Answers are Anthropic's own (JSON, SSE); Google's errors are mapped.
 */
public final class VertexDialect implements UpstreamDialect {

    public static final String VERSION = "vertex-2023-10-16";
    private static final Set<String> NOT_FOR_VERTEX = Set.of("model", "anthropic_version");

    private final UpstreamTarget endpoint;
    private final String project;
    private final String region;
    private final VertexTokens tokens;
    private final Map<String, String> modelMap;

    /** @throws IllegalArgumentException unless the service account JSON is a key file */
    public VertexDialect(String baseUrl, String project, String region, String serviceAccountJson, String tokenUrl,
                         Map<String, String> modelMap) {
        this.endpoint = UpstreamTarget.of(baseUrl, "");
        this.project = project;
        this.region = region;
        this.tokens = VertexTokens.of(serviceAccountJson, tokenUrl);
        this.modelMap = Map.copyOf(modelMap);
    }

    /** Checks a service account key file; its client_email. @throws IllegalArgumentException if it is none */
    public static String clientEmail(String serviceAccountJson) {
        return VertexTokens.parse(serviceAccountJson).getClientEmail();
    }

    private String path(String model) {
        return endpoint.basePath() + "/projects/" + project + "/locations/" + region + "/publishers/anthropic/models/"
                + model;
    }

    @Override
    public Future<UpstreamExchange> open(UpstreamClient client, String modelId, String query, MultiMap clientHeaders,
                                         boolean stream) {
        String uri = path(VertexModels.id(modelId, modelMap)) + (stream ? ":streamRawPredict" : ":rawPredict");
        return tokens.token(client.vertx()).compose(token -> client.openRaw(endpoint, uri, stream)
                .map(request -> {
                    headers(request, token, clientHeaders, stream);
                    return new Exchange(client, request);
                }));
    }

    @Override
    public Future<UpstreamClient.Answer> countTokens(UpstreamClient client, String modelId, byte[] body,
                                                     MultiMap clientHeaders, String query) {
        byte[] countBody;
        try {
            countBody = AnthropicBody.rewrite(body, NOT_FOR_VERTEX, "\"anthropic_version\":\"" + VERSION
                    + "\",\"model\":" + AnthropicBody.quote(VertexModels.id(modelId, modelMap)));
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        String uri = path("count-tokens:rawPredict");
        return tokens.token(client.vertx()).compose(token -> client.openRaw(endpoint, uri, false)
                .compose(request -> {
                    headers(request, token, clientHeaders, false);
                    return client.send(request, Buffer.buffer(countBody), "/v1/messages/count_tokens");
                })
                .compose(response -> response.body().map(b -> {
                    if (response.statusCode() == 200) {
                        return new UpstreamClient.Answer(200, response.headers(), b);
                    }
                    VertexErrors.Mapped error = VertexErrors.of(response.statusCode(), b.getBytes());
                    return new UpstreamClient.Answer(error.status(), response.headers(), Buffer.buffer(error.body()));
                })));
    }

    private static void headers(HttpClientRequest request, String token, MultiMap clientHeaders, boolean stream) {
        request.putHeader("authorization", "Bearer " + token);
        request.putHeader("content-type", "application/json");
        request.putHeader("accept", stream ? "text/event-stream" : "application/json");
        for (String beta : clientHeaders.getAll("anthropic-beta")) {
            request.headers().add("anthropic-beta", beta);
        }
    }

    /** Never a secret: upstreams end up in logs. */
    @Override
    public String toString() {
        return "vertex " + project + " " + region + " " + endpoint;
    }

    /** One rawPredict call: the answer as it is, but Google's errors, mapped. */
    private static final class Exchange extends HttpResponseStream implements UpstreamExchange {

        private final UpstreamClient client;
        private final HttpClientRequest request;
        private int status;

        Exchange(UpstreamClient client, HttpClientRequest request) {
            this.client = client;
            this.request = request;
        }

        @Override
        public Future<UpstreamResponse> send(byte[] body) {
            byte[] vertexBody;
            try {
                vertexBody = AnthropicBody.rewrite(body, NOT_FOR_VERTEX, "\"anthropic_version\":\"" + VERSION + "\"");
            } catch (IllegalArgumentException e) {
                request.reset();
                return Future.failedFuture(e);
            }
            return client.send(request, Buffer.buffer(vertexBody), "/v1/messages").map(r -> {
                response = r;
                status = r.statusCode() == 200 ? 200 : VertexErrors.of(r.statusCode(), null).status();
                return this;
            });
        }

        @Override
        public void reset() {
            request.reset();
        }

        @Override
        public int status() {
            return status;
        }

        @Override
        public MultiMap headers() {
            return response.headers();
        }

        @Override
        public String contentType() {
            return status == 200 ? response.getHeader("content-type") : "application/json";
        }

        @Override
        public String requestId() {
            String id = response.getHeader("request-id");
            return id != null ? id : response.getHeader("x-request-id");
        }

        @Override
        public Future<Buffer> body() {
            if (status == 200) {
                return response.body();
            }
            return response.body().map(b -> {
                VertexErrors.Mapped error = VertexErrors.of(response.statusCode(), b.getBytes());
                status = error.status();
                return Buffer.buffer(error.body());
            });
        }
    }
}
