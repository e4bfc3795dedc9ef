package dev.tollgate.limits;

/**
 * A key's or account's limit refused a call. Rate, token and concurrency limits carry a
 * retry-after; spend caps do not (waiting a few seconds will not help).
 *
 * @param subject "key" or "account"
 * @param limit   requests, tokens, concurrent, daily, monthly or lifetime
 */
public class LimitExceededException extends RuntimeException {

    private final String subject;
    private final String limit;
    private final long value;
    private final long retryAfterSeconds;

    public LimitExceededException(String subject, String limit, long value, long retryAfterSeconds) {
        super(subject + " " + limit + " limit", null, false, false);
        this.subject = subject;
        this.limit = limit;
        this.value = value;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public String subject() {
        return subject;
    }

    public String limit() {
        return limit;
    }

    /** The limit's value: a count, a token count, or nano-dollars for spend caps. */
    public long value() {
        return value;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public boolean spendCap() {
        return limit.equals("daily") || limit.equals("monthly") || limit.equals("lifetime");
    }

    /** Parses the message of the database's TG429/TG430 errors: "subject|limit|value|retry-or-spent". */
    public static LimitExceededException fromDatabase(String message) {
        String[] parts = message.split("\\|");
        long fourth = Long.parseLong(parts[3]);
        boolean spend = parts[1].equals("daily") || parts[1].equals("monthly") || parts[1].equals("lifetime");
        return new LimitExceededException(parts[0], parts[1], Long.parseLong(parts[2]), spend ? 0 : fourth);
    }
}
