package dev.tollgate.limits;

import java.time.Instant;

/**
 * A key's sliding-window counters after a call was admitted, as the database returned them:
 * enough to fill the anthropic-ratelimit-* headers the official SDKs read.
 */
public record RateWindow(Instant windowStart, long windowRequests, long windowTokens, long prevRequests,
                         long prevTokens) {

    /** The sliding estimate at {@code now}: the previous minute weighted by how much of it still overlaps. */
    public long requestsUsed(Instant now) {
        return estimate(prevRequests, windowRequests, now);
    }

    public long tokensUsed(Instant now) {
        return estimate(prevTokens, windowTokens, now);
    }

    private long estimate(long prev, long current, Instant now) {
        double elapsed = Math.min(1.0, Math.max(0.0, (now.toEpochMilli() - windowStart.toEpochMilli()) / 60_000.0));
        return (long) Math.ceil(prev * (1 - elapsed) + current);
    }

    /** When the current window ends; the estimate only falls from then on. */
    public Instant reset() {
        return windowStart.plusSeconds(60);
    }
}
