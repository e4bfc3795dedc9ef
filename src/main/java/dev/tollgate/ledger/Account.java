package dev.tollgate.ledger;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;
import java.util.UUID;

/** A prepaid account. Its totals are written only by {@link LedgerStore}; this entity reads and creates. */
@Entity
@Table(name = "accounts")
public class Account extends PanacheEntityBase {

    @Id
    public UUID id;

    @Column(nullable = false)
    public String name;

    /** Nano-dollars: sum of the account's ledger entries' balance_delta. */
    @Column(nullable = false, updatable = false)
    public long balance;

    /** Nano-dollars on hold for calls in flight. */
    @Column(nullable = false, updatable = false)
    public long held;

    @Column(name = "created_at", nullable = false, updatable = false)
    public Instant createdAt;

    @Column(name = "requests_per_minute")
    public Integer requestsPerMinute;

    @Column(name = "tokens_per_minute")
    public Long tokensPerMinute;

    @Column(name = "max_concurrent")
    public Integer maxConcurrent;

    @Column(name = "daily_spend_limit")
    public Long dailySpendLimit;

    @Column(name = "monthly_spend_limit")
    public Long monthlySpendLimit;

    @Column(name = "lifetime_spend_limit")
    public Long lifetimeSpendLimit;

    /** Lower max_tokens to what the balance pays for, instead of refusing with 402. */
    @Column(name = "fit_max_tokens", nullable = false)
    public boolean fitMaxTokens;

    @Column(name = "fit_min_tokens", nullable = false)
    public int fitMinTokens = 256;

    @Column(name = "low_balance_threshold")
    public Long lowBalanceThreshold;

    /** Set by the database when the available balance fell below the threshold; cleared when it recovers. */
    @Column(name = "low_balance_since", insertable = false, updatable = false)
    public Instant lowBalanceSince;
}
