package dev.tollgate.ledger;

import java.util.UUID;

/** A pending debit placed before an upstream call; settled or released exactly once. */
public record Hold(UUID id, UUID accountId, long amountNanos) {
}
