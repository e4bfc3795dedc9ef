package dev.tollgate.metering;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.gateway.MessagesRequest;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Hold bounds worked by hand from the list prices (Haiku 4.5: $1 in, $1.25 5m write, $2 1h write, $5 out). */
class HoldEstimatorTest {

    static final PriceTable PRICES = PriceTable.load(Optional.empty());
    static final ModelPrice HAIKU = PRICES.resolve("claude-haiku-4-5").orElseThrow().price();
    static final ModelPrice SONNET = PRICES.resolve("claude-sonnet-4-5").orElseThrow().price();
    static final BigDecimal WEB_SEARCH = PRICES.calculator().webSearchUsdPerRequest();
    static final HoldEstimator ESTIMATOR = new HoldEstimator(config());

    /** The defaults of tollgate.holds.* that the estimator reads. */
    private static TollgateConfig config() {
        TollgateConfig.Holds holds = (TollgateConfig.Holds) Proxy.newProxyInstance(HoldEstimatorTest.class.getClassLoader(),
                new Class<?>[] {TollgateConfig.Holds.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "imageTokenAllowance" -> 3300L;
                    case "toolOverheadTokens" -> 1000L;
                    case "countTokensMarginPercent" -> 2;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
        return (TollgateConfig) Proxy.newProxyInstance(HoldEstimatorTest.class.getClassLoader(),
                new Class<?>[] {TollgateConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("holds")) {
                        return holds;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private static MessagesRequest request(String extraFields) {
        return MessagesRequest.parse(("{\"model\":\"claude-haiku-4-5\",\"max_tokens\":1000," + extraFields
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8), true);
    }

    @Test
    void inputIsHeldAtTheDearestCacheWriteTheRequestAsksFor() {
        // 10,000 counted tokens + 2% margin = 10,200 input tokens; 1,000 output tokens at $5 = $0.005.
        assertEquals(10_200_000 + 5_000_000,
                ESTIMATOR.exactBound(HAIKU, request(""), 10_000, WEB_SEARCH).nanos(), "no caching: input price");
        assertEquals(12_750_000 + 5_000_000, ESTIMATOR.exactBound(HAIKU,
                request("\"cache_control\":{\"type\":\"ephemeral\"},"), 10_000, WEB_SEARCH).nanos(), "5m: 1.25x");
        String oneHourTool = "\"tools\":[{\"name\":\"t\",\"input_schema\":{},\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}],";
        assertEquals(20_400_000 + 5_000_000,
                ESTIMATOR.exactBound(HAIKU, request(oneHourTool), 10_000, WEB_SEARCH).nanos(), "1h on a tool: 2x");
    }

    @Test
    void contextWindowBoundHoldsTheWholeWindowAtTheWorstInputPrice() {
        // Haiku 4.5: 200,000 tokens at $1 = $0.20, plus 1,000 output tokens at $5.
        assertEquals(200_000_000 + 5_000_000, ESTIMATOR.contextWindowBound(HAIKU, request(""), WEB_SEARCH).nanos());
        // Sonnet 4.5: 1,000,000 tokens is over the 200K threshold, so the premium $6 in / $22.50 out applies.
        assertEquals(6_000_000_000L + 22_500_000, ESTIMATOR.contextWindowBound(SONNET, request(""), WEB_SEARCH).nanos());
    }

    @Test
    void serverToolsAddTenSearchesFees() {
        MessagesRequest webSearch = request("\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}],");
        assertEquals(200_000_000 + 5_000_000 + 100_000_000,
                ESTIMATOR.contextWindowBound(HAIKU, webSearch, WEB_SEARCH).nanos());
    }
}
