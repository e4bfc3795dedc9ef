package dev.tollgate.plans;

import java.math.BigDecimal;

/**
 * One model's price under a plan: either absolute prices in USD per million tokens ({@code input}
 * and {@code output} set; cache prices left null follow the usual multipliers of that input price),
 * charged as they are, or a {@code markupPercent} that replaces the plan's for this model.
 */
public record ModelOverride(BigDecimal input, BigDecimal output, BigDecimal cacheWrite5m, BigDecimal cacheWrite1h,
                            BigDecimal cacheRead, BigDecimal markupPercent) {

    public static ModelOverride markup(BigDecimal percent) {
        return new ModelOverride(null, null, null, null, null, percent);
    }

    public static ModelOverride prices(BigDecimal input, BigDecimal output, BigDecimal cacheWrite5m,
                                       BigDecimal cacheWrite1h, BigDecimal cacheRead) {
        return new ModelOverride(input, output, cacheWrite5m, cacheWrite1h, cacheRead, null);
    }

    public boolean absolute() {
        return input != null;
    }
}
