package dev.tollgate.plans;

import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceModifiers;

import java.math.BigDecimal;
import java.math.MathContext;

/**
 * The price a plan charges for a model, as a {@link ModelPrice} of its own, so that the one cost
 * function ({@code CostCalculator}) and the hold bounds ({@code HoldEstimator}) work on it
 * unchanged: a call's charge is its usage at these rates, summed exactly and rounded once, half-up,
 * to 1e-9 USD. Pure: no database, no state.
 *
 * <ul>
 *   <li>A markup multiplies every rate of every token kind by {@code 1 + markup/100}: input,
 *       output, both cache writes, cache reads, the long-context band and the fast-mode rates
 *       (cache prices the list leaves to the multipliers stay so, of the marked-up input). The
 *       US-only inference multiplier, the batch discount and web-search fees are not rates per
 *       token and stay as listed (the fee is charged at cost).</li>
 *   <li>An absolute override is the model's standard price under the plan, with no markup on top;
 *       its cache prices left out follow the usual multipliers (5m write 1.25×, 1h write 2×,
 *       read 0.1×) of its input. The premium bands keep their list ratio to the standard price of
 *       each token kind: over a long-context threshold each kind costs its override times the
 *       list's band/standard ratio, and fast mode scales input and output the same way.</li>
 *   <li>A per-model {@code markup_percent} replaces the plan's markup for that model.</li>
 * </ul>
 */
public final class PlanPricing {

    private static final BigDecimal HUNDRED = BigDecimal.valueOf(100);

    private PlanPricing() {
    }

    /** {@code list} as charged under a plan with {@code markupPercent} and {@code override} (or null). */
    public static ModelPrice charged(ModelPrice list, BigDecimal markupPercent, ModelOverride override) {
        if (override != null && override.absolute()) {
            return absolute(list, override);
        }
        BigDecimal markup = override != null && override.markupPercent() != null ? override.markupPercent() : markupPercent;
        if (markup.signum() == 0) {
            return list;
        }
        return scaled(list, BigDecimal.ONE.add(markup.divide(HUNDRED)));
    }

    private static ModelPrice scaled(ModelPrice m, BigDecimal f) {
        ModelPrice.LongContext lc = m.longContext();
        ModelPrice.Fast fast = m.fast();
        return new ModelPrice(m.id(), m.displayName(), m.createdAt(), m.aliases(), m.maxOutputTokens(),
                m.contextWindow(), m.structuredOutputs(), times(m.input(), f), times(m.output(), f),
                times(m.cacheWrite5m(), f), times(m.cacheWrite1h(), f), times(m.cacheRead(), f),
                lc == null ? null : new ModelPrice.LongContext(lc.thresholdTokens(), times(lc.input(), f),
                        times(lc.output(), f), times(lc.cacheWrite5m(), f), times(lc.cacheWrite1h(), f),
                        times(lc.cacheRead(), f)),
                fast == null ? null : new ModelPrice.Fast(times(fast.input(), f), times(fast.output(), f)),
                m.usInferenceMultiplier(), m.retirement());
    }

    private static ModelPrice absolute(ModelPrice m, ModelOverride o) {
        ModelPrice standard = new ModelPrice(m.id(), m.displayName(), m.createdAt(), m.aliases(), m.maxOutputTokens(),
                m.contextWindow(), m.structuredOutputs(), o.input(), o.output(), o.cacheWrite5m(), o.cacheWrite1h(),
                o.cacheRead(), null, null, m.usInferenceMultiplier(), m.retirement());
        ModelPrice.Rates listRates = m.rates(0, PriceModifiers.NONE);
        ModelPrice.Rates newRates = standard.rates(0, PriceModifiers.NONE);
        ModelPrice.LongContext lc = m.longContext();
        ModelPrice.LongContext band = lc == null ? null : new ModelPrice.LongContext(lc.thresholdTokens(),
                ratio(lc.input(), newRates.input(), listRates.input()),
                ratio(lc.output(), newRates.output(), listRates.output()),
                lc.cacheWrite5m() == null ? null : ratio(lc.cacheWrite5m(), newRates.cacheWrite5m(), listRates.cacheWrite5m()),
                lc.cacheWrite1h() == null ? null : ratio(lc.cacheWrite1h(), newRates.cacheWrite1h(), listRates.cacheWrite1h()),
                lc.cacheRead() == null ? null : ratio(lc.cacheRead(), newRates.cacheRead(), listRates.cacheRead()));
        ModelPrice.Fast fast = m.fast() == null ? null : new ModelPrice.Fast(
                ratio(m.fast().input(), newRates.input(), listRates.input()),
                ratio(m.fast().output(), newRates.output(), listRates.output()));
        return new ModelPrice(m.id(), m.displayName(), m.createdAt(), m.aliases(), m.maxOutputTokens(),
                m.contextWindow(), m.structuredOutputs(), o.input(), o.output(), o.cacheWrite5m(), o.cacheWrite1h(),
                o.cacheRead(), band, fast, m.usInferenceMultiplier(), m.retirement());
    }

    /** {@code premium × charged / list}: the premium rate keeping its ratio to the standard one. */
    private static BigDecimal ratio(BigDecimal premium, BigDecimal charged, BigDecimal list) {
        if (list.signum() == 0) {
            return charged;
        }
        BigDecimal product = premium.multiply(charged);
        try {
            return product.divide(list);
        } catch (ArithmeticException nonTerminating) {
            return product.divide(list, MathContext.DECIMAL128);
        }
    }

    private static BigDecimal times(BigDecimal price, BigDecimal factor) {
        return price == null ? null : price.multiply(factor);
    }
}
