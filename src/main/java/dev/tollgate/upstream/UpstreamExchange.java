package dev.tollgate.upstream;

import io.vertx.core.Future;

/** One opened upstream call, not sent yet. Used on its call's event loop only. */
public interface UpstreamExchange {

    /** Sends the call's Anthropic Messages body (with its {@code model}) and waits for the response head. */
    Future<UpstreamResponse> send(byte[] body);

    /** Aborts the exchange (closes its stream or connection); harmless once it ended. */
    void reset();
}
