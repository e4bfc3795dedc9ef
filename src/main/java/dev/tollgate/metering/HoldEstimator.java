package dev.tollgate.metering;

import dev.tollgate.config.TollgateConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.math.BigDecimal;

/**
 * The most one call can cost, held before the upstream is called.
 *
 * <p>Output: max_tokens at the output price. Input, at the dearest price an input token can be
 * billed at (a cache write when the request carries cache_control, else the input price):
 * <ul>
 *   <li>cheap bound, no round trip: the body's byte length (a text token is at least one byte of
 *       UTF-8 and JSON only adds bytes), plus an allowance per image/document block (whose few
 *       bytes can decode to many tokens), plus the tool-use system prompt when tools are present;</li>
 *   <li>exact bound, when the cheap one does not fit the balance: the upstream's free count_tokens
 *       plus a small margin, so a customer can spend nearly all of a balance.</li>
 * </ul>
 * Server tools (web search/fetch, code execution) add results to the input that no request
 * shows; a configured allowance and ten searches' fees are added for them.
 * Over the long-context threshold the premium rates apply to both sides, and the request's fast
 * mode or US-only inference raise every rate.
 */
@ApplicationScoped
public class HoldEstimator {

    private final TollgateConfig.Holds config;

    public HoldEstimator(TollgateConfig config) {
        this.config = config.holds();
    }

    /** What the estimator needs of a request. */
    public interface Facts {
        int bodyBytes();

        long maxTokens();

        int imageBlocks();

        boolean cacheControl();

        boolean tools();

        boolean serverTools();

        /** Fast mode or US-only inference asked for: the bound is at those rates. */
        PriceModifiers requestedModifiers();
    }

    /**
     * A bound: the nano-dollars to hold, and the tokens the call counts against token-per-minute
     * limits while in flight. {@code inputNanos} is the input side alone, so max_tokens can be
     * fitted to what a balance pays for.
     */
    public record Bound(long nanos, long tokens, long inputNanos, java.math.BigDecimal outputUsdPerMTok) {

        /** The largest max_tokens whose bound fits {@code availableNanos}, or -1. */
        public long affordableMaxTokens(long availableNanos) {
            long forOutput = availableNanos - inputNanos;
            if (forOutput <= 0) {
                return -1;
            }
            return java.math.BigDecimal.valueOf(forOutput)
                    .divide(outputUsdPerMTok.multiply(java.math.BigDecimal.valueOf(1000)), 0, java.math.RoundingMode.FLOOR)
                    .longValue();
        }
    }

    public Bound cheapBound(ModelPrice model, Facts facts, BigDecimal webSearchUsd) {
        long input = facts.bodyBytes()
                + facts.imageBlocks() * config.imageTokenAllowance()
                + (facts.tools() ? config.toolOverheadTokens() : 0);
        return bound(model, facts, input, webSearchUsd);
    }

    public Bound exactBound(ModelPrice model, Facts facts, long countedInputTokens, BigDecimal webSearchUsd) {
        long input = countedInputTokens + (countedInputTokens * config.countTokensMarginPercent() + 99) / 100;
        return bound(model, facts, input, webSearchUsd);
    }

    private Bound bound(ModelPrice model, Facts facts, long inputTokens, BigDecimal webSearchUsd) {
        long serverToolFees = 0;
        if (facts.serverTools()) {
            inputTokens += config.serverToolInputAllowance();
            serverToolFees = webSearchUsd.multiply(BigDecimal.TEN).movePointRight(9).longValue();
        }
        ModelPrice.Rates rates = model.rates(inputTokens, facts.requestedModifiers());
        long input = CostCalculator.boundNanos(rates.worstInput(facts.cacheControl()), inputTokens) + serverToolFees;
        return new Bound(input + CostCalculator.boundNanos(rates.output(), facts.maxTokens()),
                inputTokens + facts.maxTokens(), input, rates.output());
    }
}
