package dev.tollgate.keys;

import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import dev.tollgate.limits.LimitSettings;
import jakarta.persistence.Column;
import jakarta.persistence.Embedded;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.JdbcTypeCode;
import org.hibernate.type.SqlTypes;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/** An issued key. Only its keyed hash is stored; the secret itself exists once, in the creation response. */
@Entity
@Table(name = "api_keys")
public class ApiKey extends PanacheEntityBase {

    @Id
    public UUID id;

    @Column(name = "account_id", nullable = false)
    public UUID accountId;

    @Column(nullable = false)
    public String name;

    @Column(name = "key_hash", nullable = false)
    public byte[] keyHash;

    @Column(nullable = false)
    public String prefix;

    @JdbcTypeCode(SqlTypes.ARRAY)
    @Column(name = "allowed_models", columnDefinition = "text[]")
    public List<String> allowedModels;

    @Column(name = "expires_at")
    public Instant expiresAt;

    @Column(name = "revoked_at")
    public Instant revokedAt;

    @Column(name = "created_at", nullable = false)
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

    @JdbcTypeCode(SqlTypes.ARRAY)
    @Column(name = "allowed_cidrs", columnDefinition = "text[]")
    public List<String> allowedCidrs;

    @Column(name = "previous_key_hash")
    public byte[] previousKeyHash;

    @Column(name = "previous_expires_at")
    public Instant previousExpiresAt;
}
