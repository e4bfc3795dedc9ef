package dev.tollgate.ledger;

/** The database refused or failed a ledger operation; nothing of it was applied. */
public class LedgerException extends RuntimeException {
    public LedgerException(String message, Throwable cause) {
        super(message, cause);
    }
}
