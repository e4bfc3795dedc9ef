package dev.tollgate.gateway;

import dev.tollgate.api.ApiException;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;

/**
 * A client-facing API shape over the same metered relay: the Anthropic Messages API as is, or a
 * translation of it (OpenAI chat completions). Everything about money is outside this interface.
 */
public interface Surface {

    /** The path recorded on usage records, e.g. "/v1/messages". */
    String endpoint();

    /** Validates the client's body and turns it into the Messages request to send upstream. */
    MessagesRequest parse(byte[] clientBody, PriceLookup prices);

    /** Our own errors, and the upstream's refusals as {@code UpstreamRefusals} makes them fit to show. */
    void sendError(RoutingContext ctx, ApiException error);

    /** The upstream's complete Message (non-streaming), as the upstream's bytes. */
    void sendMessage(RoutingContext ctx, Buffer upstreamBody);

    /** Starts a streamed response; the writer receives the upstream's SSE bytes as they arrive. */
    StreamWriter openStream(RoutingContext ctx, String upstreamContentType);

    /** Model facts a translating surface needs before the model is resolved for billing. */
    interface PriceLookup {
        /** The largest output of the model, or null when it is not priced. */
        Integer maxOutputTokens(String model);

        boolean structuredOutputs(String model);
    }

    /** Receives one upstream stream. Writes must respect the response's back-pressure (caller checks). */
    interface StreamWriter {
        void write(Buffer upstreamBytes);

        /** The upstream stream broke without an error event of its own: tell the client before ending. */
        void writeCutNotice(String message);

        void end();
    }
}
