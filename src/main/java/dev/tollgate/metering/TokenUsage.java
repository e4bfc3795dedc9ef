package dev.tollgate.metering;

/**
 * What the upstream reported one call used. {@code cacheWrite5m + cacheWrite1h} equals the
 * upstream's {@code cache_creation_input_tokens}; {@code modifiers} are those it reported applying.
 */
public record TokenUsage(long input, long output, long cacheWrite5m, long cacheWrite1h, long cacheRead,
                         long webSearchRequests, PriceModifiers modifiers) {

    public static final TokenUsage NONE = of(0, 0);

    public static TokenUsage of(long input, long output) {
        return new TokenUsage(input, output, 0, 0, 0, 0, PriceModifiers.NONE);
    }

    /** Input as Anthropic measures it for the long-context threshold: uncached + written + read. */
    public long totalInput() {
        return input + cacheWrite5m + cacheWrite1h + cacheRead;
    }

    /** This usage with the modifiers the upstream did not report taken from the request. */
    public TokenUsage withRequested(PriceModifiers requested) {
        return new TokenUsage(input, output, cacheWrite5m, cacheWrite1h, cacheRead, webSearchRequests,
                modifiers.orElse(requested));
    }
}
