package dev.tollgate.metering;

import dev.tollgate.config.TollgateConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.math.BigDecimal;

/**
 * The most one call can cost, held before the upstream is called.
 *
 * <p>Output: max_tokens at the output price. Input, at the dearest price an input token can be
 * billed at (the dearest cache write the request asks for: 1h if any breakpoint has a 1h TTL, else
 * 5m; the input price without cache_control), bounded as its {@link InputBound} allows:
 * <ul>
 *   <li>cheap bound, no round trip: the body's byte length (a text token is at least one byte of
 *       UTF-8 and JSON only adds bytes), plus an allowance per image/document block (whose few
 *       bytes can decode to many tokens), plus the tool-use system prompt when tools are present;</li>
 *   <li>exact bound: the upstream's free count_tokens plus a small margin, when the cheap one does
 *       not fit the balance (so a customer can spend nearly all of it) or cannot bound the input;</li>
 *   <li>context-window bound: the model's whole context window, for input the body does not
 *       contain (for documents by file_id, a count refines it when it does not fit).</li>
 * </ul>
 * Web search also costs a fee per search: ten searches' fees are added when it may run.
 * Over the long-context threshold the premium rates apply to both sides, and the request's fast
 * mode or US-only inference raise every rate.
 */
@ApplicationScoped
public class HoldEstimator {

    private final TollgateConfig.Holds config;

    public HoldEstimator(TollgateConfig config) {
        this.config = config.holds();
    }

    /**
     * What can bound a request's input tokens before the call. The cheap bound counts only what
     * the body contains; content it merely names is bounded by count_tokens when the count sees
     * exactly what the call will read, and otherwise only by the context window.
     */
    public enum InputBound {
        /** Everything the model reads is in the body (images at their allowance). */
        BODY,
        /**
         * Documents by file_id: the body's bytes do not bound them, but count_tokens reads the same
         * stored file the call will (a file never changes), so its count does. The context window
         * bounds them too, without a round trip: held when the balance covers it.
         */
        COUNT_TOKENS,
        /**
         * Content that enters the context while the call runs: documents by URL (fetched anew by the
         * call, which may get other content than a count did), container uploads, MCP servers' and
         * server tools' results (count_tokens sees none of them).
         */
        CONTEXT_WINDOW
    }

    /** What the estimator needs of a request. */
    public interface Facts {
        int bodyBytes();

        long maxTokens();

        int imageBlocks();

        boolean cacheControl();

        boolean oneHourCacheTtl();

        boolean tools();

        boolean serverTools();

        /** Fast mode or US-only inference asked for: the bound is at those rates. */
        PriceModifiers requestedModifiers();

        InputBound inputBound();
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

    /** The whole context window: no call can read more, whatever enters its context on the way. */
    public Bound contextWindowBound(ModelPrice model, Facts facts, BigDecimal webSearchUsd) {
        return bound(model, facts, model.contextWindow(), webSearchUsd);
    }

    private Bound bound(ModelPrice model, Facts facts, long inputTokens, BigDecimal webSearchUsd) {
        long serverToolFees = facts.serverTools() ? webSearchUsd.multiply(BigDecimal.TEN).movePointRight(9).longValue() : 0;
        ModelPrice.Rates rates = model.rates(inputTokens, facts.requestedModifiers());
        BigDecimal inputPrice = rates.worstInput(facts.cacheControl(), facts.oneHourCacheTtl());
        long input = CostCalculator.boundNanos(inputPrice, inputTokens) + serverToolFees;
        return new Bound(input + CostCalculator.boundNanos(rates.output(), facts.maxTokens()),
                inputTokens + facts.maxTokens(), input, rates.output());
    }
}
