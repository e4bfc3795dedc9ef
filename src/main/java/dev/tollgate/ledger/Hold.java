package dev.tollgate.ledger;

import java.util.UUID;

/**
 * A pending debit placed before an upstream call; settled or released exactly once. When
 * {@code reserve}, {@code id} is the reserve's and {@code amountNanos} this call's worst case on it.
 */
public record Hold(UUID id, UUID accountId, long amountNanos, boolean reserve) {

    /** A hold of its own in the database. */
    public Hold(UUID id, UUID accountId, long amountNanos) {
        this(id, accountId, amountNanos, false);
    }
}
