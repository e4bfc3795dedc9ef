package dev.tollgate.metering;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Price vectors: usage shape → exact nano-dollars, worked by hand from the list prices. */
class CostCalculatorTest {

    static final PriceTable PRICES = PriceTable.load(Optional.empty());

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // case,                      model,                       in,     out,  w5m,   w1h,  read,   web, tier,  geo,  speed, nanos
            "plain sonnet,                claude-sonnet-4-5,          1000,    500,     0,     0,     0,    0,     ,     ,      , 10500000",
            "5m writes (1.25x),           claude-sonnet-4-5,             0,      0,  1000,     0,     0,    0,     ,     ,      , 3750000",
            "1h writes (2x),              claude-sonnet-4-5,             0,      0,     0,  1000,     0,    0,     ,     ,      , 6000000",
            "reads (0.1x),                claude-sonnet-4-5,             0,      0,     0,     0,  1000,    0,     ,     ,      , 300000",
            "mixed haiku 4.5,             claude-haiku-4-5,            100,    200,   300,   400,  5000,    0,     ,     ,      , 2775000",
            "haiku 3 table cache prices,  claude-3-haiku-20240307,    1000,   1000,  1000,  1000,  1000,    0,     ,     ,      , 2330000",
            "haiku 3.5 fractional,        claude-3-5-haiku-latest,       1,      1,     1,     1,     1,    0,     ,     ,      , 7480",
            "opus 4.1,                    claude-opus-4-1,             200,    100,     0,     0,     0,    0,     ,     ,      , 10500000",
            "long context sonnet 4.5,     claude-sonnet-4-5,        150000,   1000, 60000,     0,     0,    0,     ,     ,      , 1372500000",
            "at threshold stays standard, claude-sonnet-4-5,        200000,   1000,     0,     0,     0,    0,     ,     ,      , 615000000",
            "long context is sonnet-only, claude-opus-4-6,          250000,      0,     0,     0,     0,    0,     ,     ,      , 1250000000",
            "batch halves,                claude-sonnet-4-5,          1000,    500,     0,     0,     0,    0, batch,     ,      , 5250000",
            "web search fee,              claude-sonnet-4-5,             0,      0,     0,     0,     0,    3,     ,     ,      , 30000000",
            "one token of haiku 3 read,   claude-3-haiku-20240307,       0,      0,     0,     0,     1,    0,     ,     ,      , 30",
            "empty usage costs nothing,   claude-3-5-haiku-latest,       0,      0,     0,     0,     0,    0,     ,     ,      , 0",
            // fast mode (digest §7.3): the model's fast rates; cache prices scale with its input rate
            "fast opus 4.6 ($30/$150),    claude-opus-4-6,            1000,   1000,     0,     0,     0,    0,     ,     ,  fast, 180000000",
            "fast opus 4.8 ($10/$50),     claude-opus-4-8,            1000,   1000,     0,     0,     0,    0,     ,     ,  fast, 60000000",
            "fast opus 5 ($10/$50),       claude-opus-5,              1000,   1000,     0,     0,     0,    0,     ,     ,  fast, 60000000",
            "fast opus 5.5 ($8/$40),      claude-opus-5-5,            1000,   1000,     0,     0,     0,    0,     ,     ,  fast, 48000000",
            "fast opus 5.5 cache x2,      claude-opus-5-5,               0,      0,  1000,  1000,  1000,    0,     ,     ,  fast, 26400000",
            "speed standard is standard,  claude-opus-4-6,            1000,   1000,     0,     0,     0,    0,     ,     , standard, 30000000",
            "fast without a fast price,   claude-sonnet-4-6,          1000,   1000,     0,     0,     0,    0,     ,     ,  fast, 18000000",
            // US-only inference (digest §7.3): 1.1x on every token category
            "us geo sonnet 4.6,           claude-sonnet-4-6,          1000,   1000,     0,     0,     0,    0,     ,   us,      , 19800000",
            "us geo on cache tokens,      claude-opus-4-6,               0,      0,  1000,     0,  1000,    0,     ,   us,      , 7425000",
            "global geo is standard,      claude-sonnet-4-6,          1000,   1000,     0,     0,     0,    0,     , global,    , 18000000",
            "geo not_available standard,  claude-sonnet-4-6,          1000,   1000,     0,     0,     0,    0,     , not_available, , 18000000",
            "us geo not on web fees,      claude-sonnet-4-6,             0,      0,     0,     0,     0,    1,     ,   us,      , 10000000",
            // stacking: multiplicative with each other, with cache and with long context
            "fast and us,                 claude-opus-4-6,            1000,   1000,     0,     0,     0,    0,     ,   us,  fast, 198000000",
            "batch and us,                claude-sonnet-4-6,          1000,   1000,     0,     0,     0,    0, batch,   us,      , 9900000",
            "long context + us + batch,   claude-sonnet-4-5,        250000,   1000,     0,     0,     0,    0, batch,   us,      , 837375000",
            "priority tier is unpriced,   claude-sonnet-4-6,          1000,   1000,     0,     0,     0,    0, priority, ,      , 18000000",
            // current models (digest §7.4)
            "sonnet 5 at $2/$10,          claude-sonnet-5,            1000,   1000,     0,     0,     0,    0,     ,     ,      , 12000000",
            "sonnet 5.5 read 0.10,        claude-sonnet-5-5,          1000,   1000,     0,     0,  1000,    0,     ,     ,      , 12100000",
            "fable 5.2,                   claude-fable-5-2,           1000,   1000,  1000,  1000,  1000,    0,     ,     ,      , 74200000",
            "mythos 5.2 as fable 5.2,     claude-mythos-5-2,          1000,   1000,  1000,  1000,  1000,    0,     ,     ,      , 74200000",
            "haiku 5.5 low band,          claude-haiku-5-5,           1000,   1000,     0,  1000,  1000,    0,     ,     ,      , 810000",
            "haiku 5.5 at 100K stays low, claude-haiku-5-5,         100000,   1000,     0,     0,     0,    0,     ,     ,      , 10500000",
            "haiku 5.5 over 100K band,    claude-haiku-5-5,          60000,   1000,  1000,     0, 40001,    0,     ,     ,      , 35125050",
    })
    void pricesUsageExactly(String name, String model, long in, long out, long w5m, long w1h, long read, long web,
                            String tier, String geo, String speed, long expectedNanos) {
        ModelPrice price = PRICES.resolve(model).orElseThrow().price();
        TokenUsage usage = new TokenUsage(in, out, w5m, w1h, read, web, new PriceModifiers(tier, geo, speed));
        assertEquals(expectedNanos, PRICES.calculator().costNanos(price, usage), name);
    }

    /** Billed as the upstream reports it applied; the request's modifiers only where it is silent. */
    @ParameterizedTest(name = "reported {0}/{1}, requested {2}/{3}")
    @CsvSource({
            // reported speed, reported geo, requested speed, requested geo, nanos (opus 4.6, 1000 in + 1000 out)
            "fast,     us,     ,     ,   198000000",
            ",         ,       fast, us, 198000000",
            "standard, global, fast, us, 30000000",
            "standard, ,       fast, us, 33000000",
            ",         global, fast, us, 180000000",
    })
    void reportedModifiersWinOverRequested(String speed, String geo, String requestedSpeed, String requestedGeo,
                                           long expectedNanos) {
        ModelPrice opus = PRICES.resolve("claude-opus-4-6").orElseThrow().price();
        TokenUsage reported = new TokenUsage(1000, 1000, 0, 0, 0, 0, new PriceModifiers("standard", geo, speed));
        TokenUsage billed = reported.withRequested(new PriceModifiers(null, requestedGeo, requestedSpeed));
        assertEquals(expectedNanos, PRICES.calculator().costNanos(opus, billed));
    }

    @Test
    void requestedModifiersRaiseTheHoldRates() {
        ModelPrice opus = PRICES.resolve("claude-opus-4-6").orElseThrow().price();
        ModelPrice.Rates rates = opus.rates(1000, new PriceModifiers(null, "us", "fast"));
        assertEquals(0, new java.math.BigDecimal("33").compareTo(rates.input()));
        assertEquals(0, new java.math.BigDecimal("165").compareTo(rates.output()));
        assertEquals(0, new java.math.BigDecimal("66").compareTo(rates.worstInput(true, true)));
    }

    @ParameterizedTest
    @CsvSource({
            "claude-sonnet-4-5,              claude-sonnet-4-5-20250929, claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929,     claude-sonnet-4-5-20250929, claude-sonnet-4-5-20250929",
            "anthropic/claude-sonnet-4.5,    claude-sonnet-4-5-20250929, claude-sonnet-4-5-20250929",
            "anthropic/claude-3.5-haiku,     claude-3-5-haiku-20241022,  claude-3-5-haiku-20241022",
            "anthropic/claude-opus-4,        claude-opus-4-20250514,     claude-opus-4-20250514",
            "Claude-Opus-4-6,                claude-opus-4-6,            claude-opus-4-6",
            "anthropic/claude-sonnet-5.5,    claude-sonnet-5-5,          claude-sonnet-5-5",
    })
    void aliasesResolveToOnePricedModel(String requested, String pricedId, String sentUpstream) {
        PriceTable.Resolved r = PRICES.resolve(requested).orElseThrow();
        assertEquals(pricedId, r.price().id());
        assertEquals(sentUpstream, r.upstreamModel());
    }
}
