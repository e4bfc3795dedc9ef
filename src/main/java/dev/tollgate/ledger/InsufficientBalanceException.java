package dev.tollgate.ledger;

/** The account's available balance (balance minus holds) cannot cover a hold. */
public class InsufficientBalanceException extends RuntimeException {

    private final long neededNanos;
    private final long availableNanos;
    private final boolean fitMaxTokens;
    private final int fitMinTokens;

    public InsufficientBalanceException(long neededNanos, long availableNanos, boolean fitMaxTokens, int fitMinTokens) {
        super("needed " + Money.format(neededNanos) + " USD, available " + Money.format(availableNanos) + " USD", null,
                false, false);
        this.neededNanos = neededNanos;
        this.availableNanos = availableNanos;
        this.fitMaxTokens = fitMaxTokens;
        this.fitMinTokens = fitMinTokens;
    }

    /** The account asked for max_tokens to be lowered to what it can pay for, rather than a 402. */
    public boolean fitMaxTokens() {
        return fitMaxTokens;
    }

    /** The smallest max_tokens worth sending when lowering it. */
    public int fitMinTokens() {
        return fitMinTokens;
    }

    public long neededNanos() {
        return neededNanos;
    }

    public long availableNanos() {
        return availableNanos;
    }
}
