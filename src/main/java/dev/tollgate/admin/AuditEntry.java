package dev.tollgate.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.hibernate.orm.panache.PanacheEntityBase;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.Immutable;

import java.io.IOException;
import java.time.Instant;

/** One audit record (read side; written by {@link AuditLog}). */
@Entity
@Immutable
@Table(name = "audit_log")
public class AuditEntry extends PanacheEntityBase {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Id
    public long id;

    public String actor;

    public String action;

    @Column(name = "subject_id")
    public String subjectId;

    @Column(columnDefinition = "jsonb")
    @org.hibernate.annotations.JdbcTypeCode(org.hibernate.type.SqlTypes.JSON)
    public String details;

    @Column(name = "client_ip")
    public String clientIp;

    @Column(name = "created_at")
    public Instant createdAt;

    Views.AuditView view() {
        Object parsed;
        try {
            parsed = details == null ? null : JSON.readTree(details);
        } catch (IOException e) {
            parsed = details;
        }
        return new Views.AuditView(id, actor, action, subjectId, parsed, clientIp, createdAt);
    }
}
