package dev.tollgate.limits;

import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;

/**
 * Counters exist only for subjects with a limit. When a key or account gets its first limit, its
 * counters are rebuilt from the ledger's records (spend from usage, in flight from pending holds)
 * so that a spend cap set mid-day counts what was already spent that day.
 */
@ApplicationScoped
public class LimitCounters {

    private final AgroalDataSource dataSource;

    public LimitCounters(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Call inside the transaction that changes the limits, with their values before and after. */
    public void limitsChanged(UUID subject, boolean isKey, boolean hadLimits, LimitSettings now) {
        if (hadLimits || !now.any()) {
            return;
        }
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT tg_seed_counters(?, ?)")) {
            ps.setObject(1, subject);
            ps.setBoolean(2, isKey);
            ps.execute();
        } catch (SQLException e) {
            throw new LedgerException("seeding limit counters failed", e);
        }
    }
}
