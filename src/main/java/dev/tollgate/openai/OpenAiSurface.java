package dev.tollgate.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.gateway.MessagesRequest;
import dev.tollgate.gateway.Surface;
import dev.tollgate.upstream.SseEventSplitter;
import io.quarkus.logging.Log;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * OpenAI chat completions over the metered Messages relay: the client's request is translated to a
 * Messages request before the relay resolves, holds and bills it exactly like /v1/messages, and the
 * answer (or error) is translated back. Holds per-call state (the client's stream options and model
 * name), so it is created anew for every call.
 */
public final class OpenAiSurface implements Surface {

    /** Used to translate a request for a model the price table does not know; the relay then answers 404. */
    static final ModelCapabilities UNKNOWN_MODEL = new ModelCapabilities(4096, false);

    private static final ObjectMapper JSON = new ObjectMapper();

    private String requestedModel;
    private boolean includeUsage;

    @Override
    public String endpoint() {
        return "/v1/chat/completions";
    }

    @Override
    public MessagesRequest parse(byte[] clientBody, PriceLookup prices) {
        JsonNode body;
        try {
            body = JSON.readTree(clientBody);
        } catch (IOException e) {
            throw ApiException.invalidRequest("The request body is not valid JSON: "
                    + (e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (body == null || !body.isObject()) {
            throw ApiException.invalidRequest("The request body must be a JSON object.");
        }
        requestedModel = body.path("model").asText(null);
        TranslatedRequest translated;
        try {
            translated = ChatRequestTranslator.toAnthropic(body, capabilities(requestedModel, prices));
        } catch (OpenAiRequestException e) {
            throw new InvalidParam(e);
        }
        includeUsage = translated.stream() && translated.includeUsage();
        try {
            MessagesRequest request = MessagesRequest.parse(JSON.writeValueAsBytes(translated.anthropicBody()), true);
            // The OpenAI SDKs send no limit by default: the model's maximum output is then ours to fit, not the client's.
            return translated.maxTokensDefaulted() ? request.markMaxTokensDefaulted() : request;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("A translated request could not be serialised", e);
        }
    }

    private static ModelCapabilities capabilities(String model, PriceLookup prices) {
        Integer maxOutput = model == null ? null : prices.maxOutputTokens(model);
        return maxOutput == null ? UNKNOWN_MODEL : new ModelCapabilities(maxOutput, prices.structuredOutputs(model));
    }

    @Override
    public void sendError(RoutingContext ctx, ApiException error) {
        String param = error instanceof InvalidParam invalid ? invalid.param : null;
        sendJson(ctx, error.status(), error.headers(),
                OpenAiErrors.envelope(error.status(), error.type(), error.getMessage(), param));
    }

    @Override
    public void sendMessage(RoutingContext ctx, Buffer upstreamBody) {
        JsonNode message;
        try {
            message = JSON.readTree(upstreamBody.getBytes());
        } catch (java.io.IOException e) {
            message = null;
        }
        if (message == null || !message.isObject()) {
            sendJson(ctx, 502, Map.of(), OpenAiErrors.envelope(502, "api_error", "The upstream's answer was not valid JSON"));
            return;
        }
        sendJson(ctx, 200, Map.of(), ChatResponseTranslator.toChatCompletion(message, requestedModel, now()));
    }

    private static void sendJson(RoutingContext ctx, int status, Map<String, String> headers, ObjectNode json) {
        HttpServerResponse response = ctx.response();
        if (response.headWritten() || response.closed()) {
            return;
        }
        response.setStatusCode(status);
        headers.forEach(response::putHeader);
        response.putHeader("content-type", "application/json");
        response.end(ChatResponseTranslator.toJson(json));
    }

    @Override
    public StreamWriter openStream(RoutingContext ctx, String upstreamContentType) {
        HttpServerResponse response = ctx.response();
        response.setStatusCode(200)
                .putHeader("content-type", "text/event-stream")
                .putHeader("cache-control", "no-cache")
                .putHeader("x-accel-buffering", "no")
                .setChunked(true);
        ChatStreamTranslator translator = new ChatStreamTranslator(requestedModel, now(), includeUsage);
        return new TranslatingWriter(response, translator);
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    /**
     * Re-encodes the upstream SSE as chat.completion.chunk frames. Whatever one upstream chunk
     * completes is written at once, so tokens reach the client as soon as they reach the gateway.
     */
    private static final class TranslatingWriter implements StreamWriter {

        private final HttpServerResponse response;
        private final ChatStreamTranslator translator;
        private final SseEventSplitter splitter;
        private final StringBuilder pending = new StringBuilder();

        TranslatingWriter(HttpServerResponse response, ChatStreamTranslator translator) {
            this.response = response;
            this.translator = translator;
            this.splitter = new SseEventSplitter(this::onEvent);
        }

        private void onEvent(String event, String data) {
            JsonNode json;
            try {
                json = JSON.readTree(data);
            } catch (IOException e) {
                Log.warnf("Dropped an upstream SSE event %s whose data is not JSON", event);
                return;
            }
            append(translator.onEvent(event, json));
        }

        private void append(List<String> frames) {
            frames.forEach(pending::append);
        }

        private void flush() {
            if (!pending.isEmpty()) {
                response.write(pending.toString());
                pending.setLength(0);
            }
        }

        @Override
        public void write(Buffer upstreamBytes) {
            byte[] bytes = upstreamBytes.getBytes();
            splitter.feed(bytes, 0, bytes.length);
            flush();
        }

        @Override
        public void writeCutNotice(String message) {
            ObjectNode error = JSON.createObjectNode();
            error.putObject("error").put("type", "api_error").put("message", message);
            append(translator.onUpstreamError(error));
            flush();
        }

        @Override
        public void end() {
            response.end();
        }
    }

    /** A request the translator rejected; carries the OpenAI parameter it names. */
    private static final class InvalidParam extends ApiException {

        private final String param;

        InvalidParam(OpenAiRequestException e) {
            super(400, "invalid_request_error", e.getMessage());
            this.param = e.param();
        }
    }
}
