package dev.tollgate.ledger;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import dev.tollgate.limits.LimitSettings;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
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

    @Embedded
    public LimitSettings limits;

    /** Never null: Hibernate loads an embeddable whose columns are all null as null. */
    public LimitSettings getLimits() {
        if (limits == null) {
            limits = new LimitSettings();
        }
        return limits;
    }

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

    /** The account's price plan; null: the default plan. */
    @Column(name = "plan_id")
    public UUID planId;
}
