package dev.tollgate.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.gateway.ClientIps;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;


/**
 * The record of admin actions, and of money moved by a developer's key (redemptions): who (the admin
 * token's fingerprint, or "key:<id>"), what, on which subject, when, from which IP. Written in the
 * same transaction as the action it records.
 */
@ApplicationScoped
public class AuditLog {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final AgroalDataSource dataSource;
    private final CurrentVertxRequest current;
    private final ClientIps clientIps;
    private final AdminAuthFilter auth;

    public AuditLog(AgroalDataSource dataSource, CurrentVertxRequest current, ClientIps clientIps, AdminAuthFilter auth) {
        this.dataSource = dataSource;
        this.current = current;
        this.clientIps = clientIps;
        this.auth = auth;
    }

    /** Inside a @Transactional method: the connection joins that transaction. */
    public void record(String action, String subjectId, Object details) {
        try (Connection c = dataSource.getConnection()) {
            record(c, action, subjectId, details);
        } catch (SQLException e) {
            throw new LedgerException("audit record failed", e);
        }
    }

    public void record(Connection c, String action, String subjectId, Object details) throws SQLException {
        record(c, auth.actor(), action, subjectId, details);
    }

    /** An action taken by someone other than the admin, such as a developer's key ("key:<id>"). */
    public void record(Connection c, String actor, String action, String subjectId, Object details) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO audit_log (actor, action, subject_id, details, client_ip) VALUES (?, ?, ?, ?::jsonb, ?)")) {
            ps.setString(1, actor);
            ps.setString(2, action);
            ps.setString(3, subjectId);
            ps.setString(4, JSON.writeValueAsString(details));
            ps.setString(5, current.getCurrent() == null ? null : clientIps.clientIp(current.getCurrent().request()));
            ps.executeUpdate();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
