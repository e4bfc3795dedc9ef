package dev.tollgate.ledger;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.Immutable;

import java.time.Instant;
import java.util.UUID;

/** One append-only ledger entry (read side). */
@Entity
@Immutable
@Table(name = "ledger_entries")
public class LedgerEntry extends PanacheEntityBase {

    @Id
    public long id;

    @Column(name = "account_id")
    public UUID accountId;

    public String kind;

    @Column(name = "balance_delta")
    public long balanceDelta;

    @Column(name = "held_delta")
    public long heldDelta;

    @Column(name = "hold_id")
    public UUID holdId;

    @Column(name = "request_id")
    public String requestId;

    public String note;

    @Column(name = "created_at")
    public Instant createdAt;
}
