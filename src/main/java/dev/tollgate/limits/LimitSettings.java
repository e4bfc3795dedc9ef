package dev.tollgate.limits;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/**
 * The limits a key or an account can carry (the same columns on api_keys and accounts; null is
 * unlimited). Enforced by tg_admit in the database, never from these copies.
 */
@Embeddable
public class LimitSettings {

    @Column(name = "requests_per_minute")
    public Integer requestsPerMinute;

    /** Input + cache writes + output tokens per minute. */
    @Column(name = "tokens_per_minute")
    public Long tokensPerMinute;

    @Column(name = "max_concurrent")
    public Integer maxConcurrent;

    /** Nano-dollars per calendar day (UTC), counting calls in flight. */
    @Column(name = "daily_spend_limit")
    public Long dailySpendLimit;

    @Column(name = "monthly_spend_limit")
    public Long monthlySpendLimit;

    @Column(name = "lifetime_spend_limit")
    public Long lifetimeSpendLimit;

    /** Any limit set: only then are counters kept for the subject (tg_has_limits in V2__limits.sql). */
    public boolean any() {
        return requestsPerMinute != null || tokensPerMinute != null || maxConcurrent != null || dailySpendLimit != null
                || monthlySpendLimit != null || lifetimeSpendLimit != null;
    }
}
