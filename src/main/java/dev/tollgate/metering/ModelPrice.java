package dev.tollgate.metering;

import java.math.BigDecimal;
import java.math.MathContext;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;

/**
 * One priced model. Prices are USD per million tokens; a null cache price means "input times
 * Anthropic's multiplier" (5m write 1.25x, 1h write 2x, read 0.1x).
 *
 * @param longContext          the premium band over an input threshold, or null
 * @param fast                 fast-mode rates, or null where fast mode is not offered
 * @param usInferenceMultiplier the factor on every token for {@code inference_geo: "us"}
 * @param retirement           when the model is (or was) retired and what replaces it, or null
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
        LongContext longContext,
        Fast fast,
        BigDecimal usInferenceMultiplier,
        Retirement retirement) {

    /**
     * Premium rates applied to the whole call, output included, when its input (uncached + cache
     * writes + reads) exceeds the threshold: Sonnet 4 / 4.5 over 200K (digest §7.2), Haiku 5.5 over
     * 100K (§7.4). Null cache prices follow the multipliers of the premium input.
     */
    public record LongContext(long thresholdTokens, BigDecimal input, BigDecimal output, BigDecimal cacheWrite5m,
                              BigDecimal cacheWrite1h, BigDecimal cacheRead) {
    }

    /** Fast-mode input and output rates (digest §7.3); cache prices scale with the input rate. */
    public record Fast(BigDecimal input, BigDecimal output) {
    }

    /** The first day the model is no longer served, and the model to use instead. */
    public record Retirement(LocalDate on, String replacement) {
    }

    static final BigDecimal WRITE_5M = new BigDecimal("1.25");
    static final BigDecimal WRITE_1H = new BigDecimal("2");
    static final BigDecimal READ = new BigDecimal("0.1");

    /** Retired at {@code now}: no longer listed or served. Before its date a retiring model is only deprecated. */
    public boolean retiredAt(Instant now) {
        return retirement != null && !now.isBefore(retirement.on().atStartOfDay(ZoneOffset.UTC).toInstant());
    }

    /**
     * The rates one call is billed at: standard, or the long-context band when its input is over the
     * threshold; fast mode replaces either with the fast rates over the whole window (Anthropic
     * prices it as a multiplier on the standard rates "across the full context window"); US-only
     * inference then multiplies every rate. The batch discount is the calculator's, on the sum.
     */
    public Rates rates(long totalInputTokens, PriceModifiers modifiers) {
        Rates rates;
        if (modifiers.fast() && fast != null) {
            Rates standard = standardRates();
            BigDecimal factor = fast.input().divide(input, MathContext.DECIMAL128);
            rates = new Rates(fast.input(), fast.output(), standard.cacheWrite5m().multiply(factor),
                    standard.cacheWrite1h().multiply(factor), standard.cacheRead().multiply(factor));
        } else if (longContext != null && totalInputTokens > longContext.thresholdTokens()) {
            BigDecimal in = longContext.input();
            rates = new Rates(in, longContext.output(),
                    orMultiple(longContext.cacheWrite5m(), in, WRITE_5M),
                    orMultiple(longContext.cacheWrite1h(), in, WRITE_1H),
                    orMultiple(longContext.cacheRead(), in, READ));
        } else {
            rates = standardRates();
        }
        return modifiers.usOnly() ? rates.times(usInferenceMultiplier) : rates;
    }

    private Rates standardRates() {
        return new Rates(input, output, orMultiple(cacheWrite5m, input, WRITE_5M),
                orMultiple(cacheWrite1h, input, WRITE_1H), orMultiple(cacheRead, input, READ));
    }

    private static BigDecimal orMultiple(BigDecimal price, BigDecimal input, BigDecimal multiplier) {
        return price != null ? price : input.multiply(multiplier);
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

        Rates times(BigDecimal factor) {
            return new Rates(input.multiply(factor), output.multiply(factor), cacheWrite5m.multiply(factor),
                    cacheWrite1h.multiply(factor), cacheRead.multiply(factor));
        }
    }
}
