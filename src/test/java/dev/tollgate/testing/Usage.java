package dev.tollgate.testing;

/**
 * Usage override for a {@link Scenario}. Immutable; the fluent methods return copies.
 *
 * <p>{@code inputTokens} / {@code outputTokens} may be {@code null}, meaning "compute it as the default
 * behaviour would" ({@link FakeUpstream#countInputTokens} for input, the word-count rule for output).
 * The cache fields follow the real API semantics (digest §2.3): {@code input_tokens} is the uncached part
 * only; {@code cache_creation_input_tokens = cacheWrite5m + cacheWrite1h}.
 */
public record Usage(Integer inputTokens, Integer outputTokens, int cacheWrite5m, int cacheWrite1h, int cacheRead,
                    int webSearchRequests, int webFetchRequests) {

    public Usage {
        if ((inputTokens != null && inputTokens < 0) || (outputTokens != null && outputTokens < 0)
                || cacheWrite5m < 0 || cacheWrite1h < 0 || cacheRead < 0 || webSearchRequests < 0 || webFetchRequests < 0) {
            throw new IllegalArgumentException("token counts must be >= 0");
        }
    }

    /** Explicit input (uncached) and output token counts; no cache activity. */
    public static Usage of(int inputTokens, int outputTokens) {
        return new Usage(inputTokens, outputTokens, 0, 0, 0, 0, 0);
    }

    /** Both input and output computed by the fake; use the withers to add cache / server-tool counts. */
    public static Usage computed() {
        return new Usage(null, null, 0, 0, 0, 0, 0);
    }

    public Usage input(int n) { return new Usage(n, outputTokens, cacheWrite5m, cacheWrite1h, cacheRead, webSearchRequests, webFetchRequests); }
    public Usage output(int n) { return new Usage(inputTokens, n, cacheWrite5m, cacheWrite1h, cacheRead, webSearchRequests, webFetchRequests); }
    public Usage cacheWrite5m(int n) { return new Usage(inputTokens, outputTokens, n, cacheWrite1h, cacheRead, webSearchRequests, webFetchRequests); }
    public Usage cacheWrite1h(int n) { return new Usage(inputTokens, outputTokens, cacheWrite5m, n, cacheRead, webSearchRequests, webFetchRequests); }
    public Usage cacheRead(int n) { return new Usage(inputTokens, outputTokens, cacheWrite5m, cacheWrite1h, n, webSearchRequests, webFetchRequests); }
    public Usage webSearchRequests(int n) { return new Usage(inputTokens, outputTokens, cacheWrite5m, cacheWrite1h, cacheRead, n, webFetchRequests); }
    public Usage webFetchRequests(int n) { return new Usage(inputTokens, outputTokens, cacheWrite5m, cacheWrite1h, cacheRead, webSearchRequests, n); }

    /** {@code cache_creation_input_tokens} as the API reports it: the sum of the TTL breakdown. */
    public int cacheCreationInputTokens() {
        return cacheWrite5m + cacheWrite1h;
    }
}
