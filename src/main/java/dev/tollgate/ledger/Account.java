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
}
