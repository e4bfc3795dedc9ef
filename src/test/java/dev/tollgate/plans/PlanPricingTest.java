package dev.tollgate.plans;

import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceModifiers;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.metering.TokenUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.math.BigDecimal;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Charges under plans, worked by hand from the list-price vectors (CostCalculatorTest): the plan is
 * applied per token kind and the sum rounded once, half-up, to 1e-9 USD.
 */
class PlanPricingTest {

    static final PriceTable PRICES = PriceTable.load(Optional.empty());

    static ModelPrice list(String model) {
        return PRICES.resolve(model).orElseThrow().price();
    }

    static long cost(ModelPrice price, TokenUsage usage) {
        return PRICES.calculator().costNanos(price, usage);
    }

    static ModelOverride prices(String in, String out, String w5m, String w1h, String read) {
        return ModelOverride.prices(new BigDecimal(in), new BigDecimal(out), w5m == null ? null : new BigDecimal(w5m),
                w1h == null ? null : new BigDecimal(w1h), read == null ? null : new BigDecimal(read));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // case,                         model,              markup,  in,    out,  w5m,  w1h,  read,  tier, speed, list nanos, charged nanos
            // Sonnet 4.6: 3 / 15 / 3.75 / 6 / 0.30 per MTok
            "every kind +20%,                claude-sonnet-4-6,      20, 1000,  1000, 1000, 1000,  1000,     ,     , 28050000, 33660000",
            "input only +20%,                claude-sonnet-4-6,      20, 1000,     0,    0,    0,     0,     ,     ,  3000000,  3600000",
            "output only +20%,               claude-sonnet-4-6,      20,    0,  1000,    0,    0,     0,     ,     , 15000000, 18000000",
            "5m writes +20%,                 claude-sonnet-4-6,      20,    0,     0, 1000,    0,     0,     ,     ,  3750000,  4500000",
            "1h writes +20%,                 claude-sonnet-4-6,      20,    0,     0,    0, 1000,     0,     ,     ,  6000000,  7200000",
            "reads +20%,                     claude-sonnet-4-6,      20,    0,     0,    0,    0,  1000,     ,     ,   300000,   360000",
            "fractional markup 12.5%,        claude-sonnet-4-6,    12.5, 1000,  1000, 1000, 1000,  1000,     ,     , 28050000, 31556250",
            "discount -10%,                  claude-sonnet-4-6,     -10, 1000,  1000, 1000, 1000,  1000,     ,     , 28050000, 25245000",
            "zero markup is list,            claude-sonnet-4-6,       0, 1000,  1000, 1000, 1000,  1000,     ,     , 28050000, 28050000",
            // Haiku 3.5: 0.80 / 4 / 1 / 1.60 / 0.08: 7480 nanos at list; x 1.3333 = 9973.084, rounded once
            "one token each rounded once,    claude-3-5-haiku-latest, 33.33, 1,  1,    1,    1,     1,     ,     ,     7480,     9973",
            "one read token +50% half-up,    claude-3-haiku-20240307, 50,    0,     0,    0,    0,     1,     ,     ,       30,       45",
            "one read token +55% half-up,    claude-3-haiku-20240307, 55,    0,     0,    0,    0,     1,     ,     ,       30,       47",
            // Haiku 5.5 long-context band (over 100K input): 0.50 / 2.50 / 0.625 / 1.00 / 0.05
            "long context band +20%,         claude-haiku-5-5,       20, 60000, 1000, 1000,    0, 40001,     ,     , 35125050, 42150060",
            "standard band +20%,             claude-haiku-5-5,       20, 1000,  1000,    0, 1000,  1000,     ,     ,   810000,   972000",
            // Opus 4.6 fast mode ($30 / $150)
            "fast mode +10%,                 claude-opus-4-6,        10, 1000,  1000,    0,    0,     0,     , fast, 180000000, 198000000",
            // batch halves the marked-up price
            "batch +20%,                     claude-sonnet-4-6,      20, 1000,   500,    0,    0,     0, batch,    ,  5250000,  6300000",
    })
    void markupAppliesToEveryTokenKind(String name, String model, String markup, long in, long out, long w5m, long w1h,
                                       long read, String tier, String speed, long listNanos, long chargedNanos) {
        ModelPrice list = list(model);
        TokenUsage usage = new TokenUsage(in, out, w5m, w1h, read, 0, new PriceModifiers(tier, null, speed));
        assertEquals(listNanos, cost(list, usage), name + " (list)");
        assertEquals(chargedNanos, cost(PlanPricing.charged(list, new BigDecimal(markup), null), usage), name);
    }

    @Test
    void webSearchFeesAreChargedAtCost() {
        TokenUsage searches = new TokenUsage(0, 0, 0, 0, 0, 3, PriceModifiers.NONE);
        ModelPrice charged = PlanPricing.charged(list("claude-sonnet-4-6"), new BigDecimal("50"), null);
        assertEquals(30_000_000L, cost(charged, searches));
    }

    /** Haiku 4.5 overridden to $2 / $8: cache prices left out follow the multipliers of $2; no markup on top. */
    @Test
    void anAbsoluteOverrideIsThePriceCharged() {
        ModelPrice list = list("claude-haiku-4-5");
        TokenUsage all = new TokenUsage(1000, 1000, 1000, 1000, 1000, 0, PriceModifiers.NONE);
        assertEquals(9_350_000L, cost(list, all));
        // 2 + 8 + 2.5 + 4 + 0.2 = 16.7 USD per MTok-thousand
        assertEquals(16_700_000L, cost(PlanPricing.charged(list, new BigDecimal("50"), prices("2", "8", null, null, null)), all));
        // explicit cache prices: 2 + 8 + 3 + 5 + 0.5
        assertEquals(18_500_000L, cost(PlanPricing.charged(list, BigDecimal.ZERO, prices("2", "8", "3", "5", "0.5")), all));
        // a discount by override: below list
        assertEquals(4_675_000L, cost(PlanPricing.charged(list, new BigDecimal("50"), prices("0.5", "2.5", null, null, null)), all));
    }

    /** An override doubling Haiku 5.5's standard prices doubles its long-context band too (its list ratio). */
    @Test
    void anAbsoluteOverrideKeepsThePremiumBandsRatio() {
        ModelPrice list = list("claude-haiku-5-5");
        ModelPrice doubled = PlanPricing.charged(list, BigDecimal.ZERO, prices("0.20", "1.00", "0.25", "0.40", "0.02"));
        TokenUsage band = new TokenUsage(60000, 1000, 1000, 0, 40001, 0, PriceModifiers.NONE);
        assertEquals(70_250_100L, cost(doubled, band));
        TokenUsage standard = new TokenUsage(1000, 1000, 0, 1000, 1000, 0, PriceModifiers.NONE);
        assertEquals(1_620_000L, cost(doubled, standard));
        // Opus 4.6 at $10 / $50 (twice list): fast mode ($30 / $150 at list) becomes $60 / $300.
        ModelPrice opus = PlanPricing.charged(list("claude-opus-4-6"), BigDecimal.ZERO, prices("10", "50", null, null, null));
        assertEquals(360_000_000L, cost(opus, new TokenUsage(1000, 1000, 0, 0, 0, 0, new PriceModifiers(null, null, "fast"))));
    }

    @Test
    void aModelsMarkupReplacesThePlans() {
        TokenUsage all = new TokenUsage(1000, 1000, 1000, 1000, 1000, 0, PriceModifiers.NONE);
        BigDecimal plan = new BigDecimal("20");
        ModelOverride atList = ModelOverride.markup(BigDecimal.ZERO);
        assertEquals(28_050_000L, cost(PlanPricing.charged(list("claude-sonnet-4-6"), plan, atList), all));
        assertEquals(56_100_000L, cost(PlanPricing.charged(list("claude-sonnet-4-6"), plan,
                ModelOverride.markup(new BigDecimal("100"))), all));
        // no override for the model: the plan's markup
        assertEquals(11_220_000L, cost(PlanPricing.charged(list("claude-haiku-4-5"), plan, null), all));
    }

    @Test
    void aZeroMarkupIsTheListPriceItself() {
        ModelPrice list = list("claude-sonnet-4-6");
        assertSame(list, PlanPricing.charged(list, BigDecimal.ZERO, null));
        assertSame(list, PlanPricing.charged(list, new BigDecimal("30"), ModelOverride.markup(new BigDecimal("0.00"))));
    }

    @Test
    void theDefaultMarkupIsChecked() {
        assertEquals(0, new BigDecimal("7.5").compareTo(PlanBook.defaultMarkup(" 7.5 ")));
        assertThrows(IllegalStateException.class, () -> PlanBook.defaultMarkup("-100"));
        assertThrows(IllegalStateException.class, () -> PlanBook.defaultMarkup("ten"));
    }
}
