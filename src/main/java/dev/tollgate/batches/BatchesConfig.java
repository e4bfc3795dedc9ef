package dev.tollgate.batches;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/** Message Batches settings ({@code tollgate.batches.*}; each also an environment variable). */
@ConfigMapping(prefix = "tollgate.batches")
public interface BatchesConfig {

    /** Most requests in one batch (the upstream's own limit); more is 413. */
    @WithDefault("100000")
    int maxRequests();

    /** Largest create body in bytes (256 MB, the upstream's limit); more is 413. */
    @WithDefault("268435456")
    long maxBytes();

    /** How often the settlement job looks at each unfinished batch upstream. */
    @WithDefault("60s")
    Duration pollInterval();

    /** Whether this instance runs the settlement job on its timer (the maintenance endpoint works either way). */
    @WithDefault("true")
    boolean pollerEnabled();

    /** Batches a pass polls at most (the next pass takes the rest). */
    @WithDefault("50")
    int pollBatchSize();

    /**
     * How long a batch's hold lives: batches run up to 24 hours upstream, so the reaper leaves the
     * hold alone for that plus a margin for the settlement to land.
     */
    @WithDefault("30h")
    Duration holdLease();

    /**
     * The public base URL put into {@code results_url} (e.g. {@code https://llm.example.com});
     * unset, it is taken from the request's Host header and X-Forwarded-Proto.
     */
    Optional<String> publicBaseUrl();
}
