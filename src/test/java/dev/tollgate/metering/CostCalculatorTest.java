package dev.tollgate.metering;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Price vectors: usage shape → exact nano-dollars, worked by hand from the list prices. */
class CostCalculatorTest {

    static final PriceTable PRICES = PriceTable.load(Optional.empty());

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // case,                      model,                       in,     out,  w5m,   w1h,  read,   web, batch, nanos
            "plain sonnet,                claude-sonnet-4-5,          1000,    500,     0,     0,     0,    0, false, 10500000",
            "5m writes (1.25x),           claude-sonnet-4-5,             0,      0,  1000,     0,     0,    0, false, 3750000",
            "1h writes (2x),              claude-sonnet-4-5,             0,      0,     0,  1000,     0,    0, false, 6000000",
            "reads (0.1x),                claude-sonnet-4-5,             0,      0,     0,     0,  1000,    0, false, 300000",
            "mixed haiku 4.5,             claude-haiku-4-5,            100,    200,   300,   400,  5000,    0, false, 2775000",
            "haiku 3 table cache prices,  claude-3-haiku-20240307,    1000,   1000,  1000,  1000,  1000,    0, false, 2330000",
            "haiku 3.5 fractional,        claude-3-5-haiku-latest,       1,      1,     1,     1,     1,    0, false, 7480",
            "opus 4.1,                    claude-opus-4-1,             200,    100,     0,     0,     0,    0, false, 10500000",
            "long context sonnet 4.5,     claude-sonnet-4-5,        150000,   1000, 60000,     0,     0,    0, false, 1372500000",
            "at threshold stays standard, claude-sonnet-4-5,        200000,   1000,     0,     0,     0,    0, false, 615000000",
            "long context is sonnet-only, claude-opus-4-6,          250000,      0,     0,     0,     0,    0, false, 1250000000",
            "batch halves,                claude-sonnet-4-5,          1000,    500,     0,     0,     0,    0, true,  5250000",
            "web search fee,              claude-sonnet-4-5,             0,      0,     0,     0,     0,    3, false, 30000000",
            "one token of haiku 3 read,   claude-3-haiku-20240307,       0,      0,     0,     0,     1,    0, false, 30",
            "empty usage costs nothing,   claude-3-5-haiku-latest,       0,      0,     0,     0,     0,    0, false, 0",
    })
    void pricesUsageExactly(String name, String model, long in, long out, long w5m, long w1h, long read, long web,
                            boolean batch, long expectedNanos) {
        ModelPrice price = PRICES.resolve(model).orElseThrow().price();
        TokenUsage usage = new TokenUsage(in, out, w5m, w1h, read, web, batch);
        assertEquals(expectedNanos, PRICES.calculator().costNanos(price, usage), name);
    }

    @ParameterizedTest
    @CsvSource({
            "claude-sonnet-4-5,              claude-sonnet-4-5-20250929, claude-sonnet-4-5",
            "claude-sonnet-4-5-20250929,     claude-sonnet-4-5-20250929, claude-sonnet-4-5-20250929",
            "anthropic/claude-sonnet-4.5,    claude-sonnet-4-5-20250929, claude-sonnet-4-5-20250929",
            "anthropic/claude-3.5-haiku,     claude-3-5-haiku-20241022,  claude-3-5-haiku-20241022",
            "anthropic/claude-opus-4,        claude-opus-4-20250514,     claude-opus-4-20250514",
            "Claude-Opus-4-6,                claude-opus-4-6,            claude-opus-4-6",
    })
    void aliasesResolveToOnePricedModel(String requested, String pricedId, String sentUpstream) {
        PriceTable.Resolved r = PRICES.resolve(requested).orElseThrow();
        assertEquals(pricedId, r.price().id());
        assertEquals(sentUpstream, r.upstreamModel());
    }
}
