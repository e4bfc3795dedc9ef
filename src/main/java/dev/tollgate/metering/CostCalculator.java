package dev.tollgate.metering;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** Prices one call. Pure: the same usage and price always give the same nano-dollars. */
public final class CostCalculator {

    /** USD per MTok times tokens is micro-dollars; times 1000 is nano-dollars. */
    private static final BigDecimal NANOS_PER_USD_PER_MTOK = BigDecimal.valueOf(1000);
    private static final BigDecimal NANOS_PER_USD = BigDecimal.valueOf(1_000_000_000L);

    private final BigDecimal webSearchUsdPerRequest;
    private final BigDecimal batchFactor;

    public CostCalculator(BigDecimal webSearchUsdPerRequest, int batchDiscountPercent) {
        this.webSearchUsdPerRequest = webSearchUsdPerRequest;
        this.batchFactor = BigDecimal.valueOf(100 - batchDiscountPercent).movePointLeft(2);
    }

    /**
     * input x in + 5m writes x 5m price + 1h writes x 1h price + reads x read price + output x out,
     * at the rates of the usage's modifiers ({@link ModelPrice#rates}: long context, fast mode,
     * US-only inference), halved for batch, plus web searches; summed exactly and rounded once,
     * half-up, to 1e-9 USD.
     */
    public long costNanos(ModelPrice model, TokenUsage usage) {
        ModelPrice.Rates rates = model.rates(usage.totalInput(), usage.modifiers());
        BigDecimal perMTok = rates.input().multiply(BigDecimal.valueOf(usage.input()))
                .add(rates.cacheWrite5m().multiply(BigDecimal.valueOf(usage.cacheWrite5m())))
                .add(rates.cacheWrite1h().multiply(BigDecimal.valueOf(usage.cacheWrite1h())))
                .add(rates.cacheRead().multiply(BigDecimal.valueOf(usage.cacheRead())))
                .add(rates.output().multiply(BigDecimal.valueOf(usage.output())));
        BigDecimal nanos = perMTok.multiply(NANOS_PER_USD_PER_MTOK);
        if (usage.modifiers().batch()) {
            nanos = nanos.multiply(batchFactor);
        }
        nanos = nanos.add(webSearchUsdPerRequest.multiply(NANOS_PER_USD).multiply(BigDecimal.valueOf(usage.webSearchRequests())));
        return nanos.setScale(0, RoundingMode.HALF_UP).longValueExact();
    }

    /** A single call's bound at batch prices (the batch discount off it), rounded up so it stays a bound. */
    public long batchBoundNanos(long nanos) {
        return BigDecimal.valueOf(nanos).multiply(batchFactor).setScale(0, RoundingMode.CEILING).longValueExact();
    }

    /** Nano-dollars of {@code tokens} at {@code usdPerMTok}, rounded up so a bound stays a bound. */
    public static long boundNanos(BigDecimal usdPerMTok, long tokens) {
        return usdPerMTok.multiply(BigDecimal.valueOf(tokens)).multiply(NANOS_PER_USD_PER_MTOK)
                .setScale(0, RoundingMode.CEILING).longValueExact();
    }

    public BigDecimal webSearchUsdPerRequest() {
        return webSearchUsdPerRequest;
    }
}
