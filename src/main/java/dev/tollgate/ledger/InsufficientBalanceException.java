package dev.tollgate.ledger;

/** The account's available balance (balance minus holds) cannot cover a hold. */
public class InsufficientBalanceException extends RuntimeException {

    private final long neededNanos;
    private final long availableNanos;

    public InsufficientBalanceException(long neededNanos, long availableNanos) {
        super("needed " + Money.format(neededNanos) + " USD, available " + Money.format(availableNanos) + " USD", null,
                false, false);
        this.neededNanos = neededNanos;
        this.availableNanos = availableNanos;
    }

    public long neededNanos() {
        return neededNanos;
    }

    public long availableNanos() {
        return availableNanos;
    }
}
