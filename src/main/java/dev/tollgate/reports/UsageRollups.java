package dev.tollgate.reports;

import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The roll-up job: every 30 s on each instance (POST /admin/v1/maintenance/rollups on Lambda), the
 * closed hours of {@code usage_hourly} summed into the totals across accounts and each account's
 * days ({@code tg_roll_usage}), the rolled hours changed since rolled again, and the ledger entries
 * added to each account's checkpoint ({@code tg_checkpoint_ledger}). Nothing of it runs in the
 * settlement. An hour is closed {@link #CLOSED_AFTER} after it ends. Each step is a short
 * transaction of at most a day of hours; any number of instances may run it at once (a session
 * advisory lock lets one through, and the state rows serialise whatever slips past it).
 */
@ApplicationScoped
public class UsageRollups {

    /** Longer than any transaction that writes usage records or ledger entries lasts. */
    static final String CLOSED_AFTER = "15 minutes";
    private static final int HOURS_PER_STEP = 24;
    private static final int ENTRIES_PER_STEP = 500_000;
    /** A pass stops after this many steps (a month of hours), so one Lambda invocation stays short. */
    private static final int MAX_STEPS = 31;
    private static final long LOCK = 0x7467_726f_6c6c_7570L;  // "tgrollup"

    private final AgroalDataSource dataSource;

    public UsageRollups(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** What one pass did: hours rolled, how far the ledger checkpoint moved, whether another instance had the lock. */
    @RegisterForReflection
    public record Pass(long hoursRolled, long ledgerEntriesAdded, boolean busy) {
    }

    @Scheduled(every = "30s", delayed = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        try {
            run();
        } catch (LedgerException e) {
            Log.warn("The roll-up pass failed; the next one takes over", e);
        }
    }

    public Pass run() {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            if (!scalar(c, "SELECT pg_try_advisory_lock(" + LOCK + ")")) {
                return new Pass(0, 0, true);
            }
            try {
                long hours = 0;
                long entries = 0;
                c.setAutoCommit(false);
                c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
                for (int i = 0; i < MAX_STEPS; i++) {
                    long n = step(c, "SELECT tg_roll_usage(interval '" + CLOSED_AFTER + "', " + HOURS_PER_STEP + ")");
                    hours += n;
                    if (n == 0) {
                        break;
                    }
                }
                c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
                for (int i = 0; i < MAX_STEPS; i++) {
                    long n = step(c, "SELECT tg_checkpoint_ledger(interval '" + CLOSED_AFTER + "', " + ENTRIES_PER_STEP + ")");
                    entries += n;
                    if (n == 0) {
                        break;
                    }
                }
                return new Pass(hours, entries, false);
            } finally {
                c.rollback();
                c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
                c.setAutoCommit(true);
                scalar(c, "SELECT pg_advisory_unlock(" + LOCK + ")");
            }
        } catch (SQLException e) {
            throw new LedgerException("rolling up usage failed", e);
        }
    }

    private static long step(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            long n = rs.getLong(1);
            c.commit();
            return n;
        } catch (SQLException e) {
            c.rollback();
            throw e;
        }
    }

    private static boolean scalar(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }
}
