package dev.tollgate.metering;

import java.util.UUID;

/**
 * The usage record of one metered call: what it used, what it cost, how it ended, which upstream
 * served it ({@code upstreamId}/{@code upstreamName} null when none answered) after how many
 * {@code attempts}. {@code costNanos} is what the customer is charged (under {@code planId}, null
 * for the default plan); {@code upstreamCostNanos} the same usage at list price, what the upstream
 * bills the operator. Never content.
 */
public record CallRecord(
        String requestId,
        UUID accountId,
        UUID keyId,
        String model,
        TokenUsage usage,
        long costNanos,
        Status status,
        int httpStatus,
        boolean stream,
        String endpoint,
        long latencyMs,
        String upstreamRequestId,
        String referer,
        String title,
        UUID upstreamId,
        String upstreamName,
        int attempts,
        long upstreamCostNanos,
        UUID planId) {

    /** A record charged at list price under the default plan. */
    public CallRecord(String requestId, UUID accountId, UUID keyId, String model, TokenUsage usage, long costNanos,
                      Status status, int httpStatus, boolean stream, String endpoint, long latencyMs,
                      String upstreamRequestId, String referer, String title, UUID upstreamId, String upstreamName,
                      int attempts) {
        this(requestId, accountId, keyId, model, usage, costNanos, status, httpStatus, stream, endpoint, latencyMs,
                upstreamRequestId, referer, title, upstreamId, upstreamName, attempts, costNanos, null);
    }

    public enum Status {
        /** The upstream answered in full. */
        OK,
        /** The upstream refused before any output (its 4xx/5xx, timeout, refused connection): never charged. */
        UPSTREAM_ERROR,
        /** An error event cut the stream: input and the output produced so far are charged. */
        STREAM_ERROR,
        /** The client went away mid-stream: the upstream is stopped and what it produced is charged. */
        CLIENT_DISCONNECTED,
        /** The hold expired unsettled (its instance died): released, recorded at zero. */
        ABANDONED;

        public String dbValue() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
