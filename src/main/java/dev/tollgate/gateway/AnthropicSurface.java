package dev.tollgate.gateway;

import dev.tollgate.api.ApiException;
import dev.tollgate.api.ErrorResponder;
import dev.tollgate.api.RequestIds;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;

/** The Anthropic Messages API, passed through byte for byte. */
public final class AnthropicSurface implements Surface {

    @Override
    public String endpoint() {
        return "/v1/messages";
    }

    @Override
    public MessagesRequest parse(byte[] clientBody, PriceLookup prices) {
        return MessagesRequest.parse(clientBody, true);
    }

    @Override
    public void sendError(RoutingContext ctx, ApiException error) {
        ErrorResponder.send(ctx, error);
    }

    @Override
    public void sendMessage(RoutingContext ctx, Buffer upstreamBody) {
        if (ctx.response().closed()) {
            return;
        }
        ctx.response().setStatusCode(200).putHeader("content-type", "application/json").end(upstreamBody);
    }

    @Override
    public StreamWriter openStream(RoutingContext ctx, String upstreamContentType) {
        HttpServerResponse response = ctx.response();
        response.setStatusCode(200)
                .putHeader("content-type", upstreamContentType)
                .putHeader("cache-control", "no-cache")
                .putHeader("x-accel-buffering", "no")
                .setChunked(true);
        return new StreamWriter() {
            @Override
            public void write(Buffer upstreamBytes) {
                response.write(upstreamBytes);
            }

            @Override
            public void writeCutNotice(String message) {
                response.write(Buffer.buffer(errorEvent(message, RequestIds.of(ctx))));
            }

            @Override
            public void end() {
                response.end();
            }
        };
    }

    static byte[] errorEvent(String message, String requestId) {
        String quoted = new String(com.fasterxml.jackson.core.io.JsonStringEncoder.getInstance().quoteAsString(message));
        return ("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"" + quoted
                + "\"},\"request_id\":\"" + requestId + "\"}\n\n").getBytes(StandardCharsets.UTF_8);
    }
}
