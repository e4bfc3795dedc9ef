package dev.tollgate.metering;

/**
 * What the upstream reported one call used. {@code cacheWrite5m + cacheWrite1h} equals the
 * upstream's {@code cache_creation_input_tokens}.
 */
public record TokenUsage(long input, long output, long cacheWrite5m, long cacheWrite1h, long cacheRead,
                         long webSearchRequests, boolean batch) {

    public static final TokenUsage NONE = new TokenUsage(0, 0, 0, 0, 0, 0, false);

    public static TokenUsage of(long input, long output) {
        return new TokenUsage(input, output, 0, 0, 0, 0, false);
    }

    /** Input as Anthropic measures it for the long-context threshold: uncached + written + read. */
    public long totalInput() {
        return input + cacheWrite5m + cacheWrite1h + cacheRead;
    }
}
