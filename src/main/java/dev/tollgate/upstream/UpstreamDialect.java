package dev.tollgate.upstream;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;

/**
 * How one kind of upstream is spoken to: Anthropic's API as it is, or Claude on a cloud (Bedrock,
 * Vertex AI) behind its own URLs, auth, body envelope and stream framing. Whatever the kind, a call
 * sees the same thing: an Anthropic-format response head, a JSON body or SSE bytes, and errors as
 * Anthropic statuses and envelopes. Holds, metering and settlement never know which kind served.
 *
 * <p>Both methods run on an event-loop context (off-loop callers go through
 * {@link UpstreamClient#onContext}); neither may block it.
 */
public interface UpstreamDialect {

    /**
     * Opens one Messages call of {@code modelId} (a price-table id, mapped here to the upstream's
     * own id). The future fails only when nothing was sent (no connection, no credential).
     * {@code query}: the client's query string, or null.
     */
    Future<UpstreamExchange> open(UpstreamClient client, String modelId, String query, MultiMap clientHeaders,
                                  boolean stream);

    /**
     * count_tokens for an Anthropic count_tokens body (with its {@code model}), answered in
     * Anthropic's shape ({@code {"input_tokens": n}}, or an Anthropic error envelope).
     */
    Future<UpstreamClient.Answer> countTokens(UpstreamClient client, String modelId, byte[] body,
                                              MultiMap clientHeaders, String query);
}
