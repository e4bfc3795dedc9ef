package dev.tollgate.api;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.Map;

/** Writes an {@link ApiException} as the Anthropic envelope on a Vert.x response. */
public final class ErrorResponder {

    private ErrorResponder() {
    }

    public static void send(RoutingContext ctx, ApiException e) {
        HttpServerResponse response = ctx.response();
        if (response.headWritten() || response.closed()) {
            return;
        }
        response.setStatusCode(e.status());
        for (Map.Entry<String, String> h : e.headers().entrySet()) {
            response.putHeader(h.getKey(), h.getValue());
        }
        response.putHeader("content-type", "application/json");
        response.end(io.vertx.core.buffer.Buffer.buffer(AnthropicErrors.envelopeBytes(e, RequestIds.of(ctx))));
    }
}
