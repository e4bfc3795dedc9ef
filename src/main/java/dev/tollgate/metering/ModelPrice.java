package dev.tollgate.metering;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;

/**
 * One priced model. Prices are USD per million tokens; a null cache price means "input times
 * Anthropic's multiplier" (5m write 1.25x, 1h write 2x, read 0.1x).
 */
public record ModelPrice(
        String id,
        String displayName,
        Instant createdAt,
        List<String> aliases,
        int maxOutputTokens,
        int contextWindow,
        boolean structuredOutputs,
        BigDecimal input,
        BigDecimal output,
        BigDecimal cacheWrite5m,
        BigDecimal cacheWrite1h,
        BigDecimal cacheRead,
        LongContext longContext) {

    /** Premium rate applied to the whole call when its input exceeds the threshold (digest §7.2). */
    public record LongContext(long thresholdTokens, BigDecimal input, BigDecimal output) {
    }

    static final BigDecimal WRITE_5M = new BigDecimal("1.25");
    static final BigDecimal WRITE_1H = new BigDecimal("2");
    static final BigDecimal READ = new BigDecimal("0.1");

    /** The rates one call is billed at: standard, or long-context when its input is over the threshold. */
    public Rates rates(long totalInputTokens) {
        if (longContext != null && totalInputTokens > longContext.thresholdTokens()) {
            BigDecimal in = longContext.input();
            return new Rates(in, longContext.output(), in.multiply(WRITE_5M), in.multiply(WRITE_1H), in.multiply(READ));
        }
        return new Rates(input, output,
                cacheWrite5m != null ? cacheWrite5m : input.multiply(WRITE_5M),
                cacheWrite1h != null ? cacheWrite1h : input.multiply(WRITE_1H),
                cacheRead != null ? cacheRead : input.multiply(READ));
    }

    /** USD per million tokens for each kind of token of one call. */
    public record Rates(BigDecimal input, BigDecimal output, BigDecimal cacheWrite5m, BigDecimal cacheWrite1h,
                        BigDecimal cacheRead) {

        /**
         * The dearest price one input token can be billed at: the dearest cache write the request
         * asks for (1h writes happen only at 1h breakpoints), else the input price.
         */
        public BigDecimal worstInput(boolean caching, boolean oneHourTtl) {
            if (!caching) {
                return input;
            }
            BigDecimal write = input.max(cacheWrite5m);
            return oneHourTtl ? write.max(cacheWrite1h) : write;
        }
    }
}
