package dev.tollgate.ledger;

import dev.tollgate.limits.LimitExceededException;
import dev.tollgate.limits.RateWindow;
import dev.tollgate.metering.CallRecord;
import org.postgresql.util.PSQLException;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.util.UUID;

/**
 * The money path, in plain JDBC. Every operation is one SQL statement (the PL/pgSQL functions of
 * V2__limits.sql), so it is atomic, costs one round trip, and never holds a transaction open
 * across an upstream call. Overspending is impossible by construction: a hold is a conditional
 * UPDATE that only succeeds while balance - held covers it, evaluated under the row lock, after
 * the key's and the account's limits admitted the call in the same statement.
 */
@ApplicationScoped
public class LedgerStore {

    private static final String HOLD = "SELECT * FROM tg_hold(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String SETTLE =
            "SELECT tg_settle(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String REAP = "SELECT tg_reap(?)";

    private final AgroalDataSource dataSource;

    public LedgerStore(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** What a hold needs to know of its call, so the reaper can record it if nobody settles it. */
    public record CallInfo(String requestId, UUID keyId, String model, String endpoint, boolean stream) {
    }

    /** A placed hold and, when the call has a key, that key's rate counters after admitting it. */
    public record Admission(Hold hold, RateWindow keyWindow) {
    }

    /**
     * Admits a call: the key's and the account's limits, then a hold of {@code amount} if the
     * available balance covers it; all in one statement (tg_hold), all or nothing.
     *
     * @param estimatedTokens what the call counts against token-per-minute limits until it settles
     * @throws InsufficientBalanceException when the balance cannot cover the hold
     * @throws LimitExceededException       when a rate, concurrency or spend limit refuses it
     */
    public Admission hold(UUID accountId, long amount, long estimatedTokens, CallInfo call, Duration ttl) {
        UUID holdId = UUID.randomUUID();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(HOLD)) {
            ps.setObject(1, holdId);
            ps.setObject(2, accountId);
            ps.setObject(3, call.keyId());
            ps.setString(4, call.requestId());
            ps.setString(5, call.model());
            ps.setString(6, call.endpoint());
            ps.setBoolean(7, call.stream());
            ps.setLong(8, amount);
            ps.setLong(9, estimatedTokens);
            ps.setInt(10, (int) ttl.toSeconds());
            RateWindow window = null;
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    window = new RateWindow(rs.getTimestamp("window_start").toInstant(), rs.getLong("window_requests"),
                            rs.getLong("window_tokens"), rs.getLong("prev_requests"), rs.getLong("prev_tokens"));
                }
            }
            return new Admission(new Hold(holdId, accountId, amount), window);
        } catch (SQLException e) {
            throw translate(e, amount);
        }
    }

    private static RuntimeException translate(SQLException e, long amount) {
        String message = e instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : e.getMessage();
        return switch (String.valueOf(e.getSQLState())) {
            case "TG402" -> {
                String[] parts = message.split("\\|");
                yield new InsufficientBalanceException(amount, Long.parseLong(parts[0]), Boolean.parseBoolean(parts[1]),
                        Integer.parseInt(parts[2]));
            }
            case "TG429", "TG430" -> LimitExceededException.fromDatabase(message);
            default -> new LedgerException("hold failed", e);
        };
    }

    /**
     * Settles a hold: charges {@code record.costNanos()}, releases the rest, releases the limit
     * counters (replacing the hold's token estimate by {@code usedTokens}), writes the usage record.
     */
    public void settle(Hold hold, CallRecord record, long usedTokens) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(SETTLE)) {
            int i = 1;
            ps.setObject(i++, hold.id());
            ps.setObject(i++, hold.accountId());
            ps.setLong(i++, record.costNanos());
            ps.setLong(i++, usedTokens);
            ps.setString(i++, record.requestId());
            ps.setObject(i++, record.keyId());
            ps.setString(i++, record.model());
            ps.setLong(i++, record.usage().input());
            ps.setLong(i++, record.usage().output());
            ps.setLong(i++, record.usage().cacheWrite5m());
            ps.setLong(i++, record.usage().cacheWrite1h());
            ps.setLong(i++, record.usage().cacheRead());
            ps.setLong(i++, record.usage().webSearchRequests());
            ps.setString(i++, record.status().dbValue());
            ps.setInt(i++, record.httpStatus());
            ps.setBoolean(i++, record.stream());
            ps.setString(i++, record.endpoint());
            ps.setInt(i++, (int) Math.min(Integer.MAX_VALUE, record.latencyMs()));
            setNullableString(ps, i++, record.upstreamRequestId());
            setNullableString(ps, i++, record.referer());
            setNullableString(ps, i, record.title());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    Log.warnf("Hold %s of %s had expired; settled %s USD without it", hold.id(), record.requestId(),
                            Money.format(record.costNanos()));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("settlement of " + record.requestId() + " failed", e);
        }
    }

    private static void setNullableString(PreparedStatement ps, int i, String value) throws SQLException {
        if (value == null) {
            ps.setNull(i, Types.VARCHAR);
        } else {
            ps.setString(i, value);
        }
    }

    /** Releases up to {@code limit} expired holds; returns how many. */
    public int reapExpired(int limit) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(REAP)) {
            ps.setInt(1, limit);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException e) {
            throw new LedgerException("reaping expired holds failed", e);
        }
    }

    /** {count, total amount} of the holds not yet settled or released, for the open-holds gauge. */
    public long[] openHolds() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*), coalesce(sum(amount), 0) FROM holds WHERE state = 'pending'");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        } catch (SQLException e) {
            throw new LedgerException("reading open holds failed", e);
        }
    }

    /** Credits a top-up inside the caller's transaction; returns {entry id, new balance}, or null if no such account. */
    public long[] credit(Connection c, UUID accountId, long amount, String kind, String note) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                WITH acct AS (
                    UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING id, balance
                ), entry AS (
                    INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, note)
                    SELECT id, ?, ?, 0, ? FROM acct RETURNING id
                )
                SELECT entry.id, acct.balance FROM entry, acct
                """)) {
            ps.setLong(1, amount);
            ps.setObject(2, accountId);
            ps.setString(3, kind);
            ps.setLong(4, amount);
            setNullableString(ps, 5, note);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : null;
            }
        }
    }

    /** {balance, held} of an account, or null when it does not exist. */
    public long[] totals(UUID accountId) {
        try (Connection c = dataSource.getConnection()) {
            return totals(c, accountId);
        } catch (SQLException e) {
            throw new LedgerException("reading account failed", e);
        }
    }

    private static long[] totals(Connection c, UUID accountId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT balance, held FROM accounts WHERE id = ?")) {
            ps.setObject(1, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : null;
            }
        }
    }

    /**
     * The invariants, recomputed from the append-only tables: running totals equal the sums of
     * the entries, settled charges equal the usage records' costs, held equals the pending holds.
     */
    public Reconciliation reconcile(UUID accountId) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT a.balance, a.held,
                       (SELECT coalesce(sum(balance_delta), 0) FROM ledger_entries WHERE account_id = a.id),
                       (SELECT coalesce(sum(held_delta), 0) FROM ledger_entries WHERE account_id = a.id),
                       (SELECT coalesce(-sum(balance_delta), 0) FROM ledger_entries
                         WHERE account_id = a.id AND kind = 'settlement'),
                       (SELECT coalesce(sum(cost), 0) FROM usage_records WHERE account_id = a.id),
                       (SELECT coalesce(sum(amount), 0) FROM holds WHERE account_id = a.id AND state = 'pending')
                FROM accounts a WHERE a.id = ?
                """)) {
            ps.setObject(1, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Reconciliation(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                        rs.getLong(6), rs.getLong(7));
            }
        } catch (SQLException e) {
            throw new LedgerException("reconciliation failed", e);
        }
    }

    /** Totals of one account, each computed two ways. */
    public record Reconciliation(long balance, long held, long entriesBalance, long entriesHeld, long settledCharges,
                                 long usageCosts, long pendingHolds) {
        public boolean consistent() {
            return balance == entriesBalance && held == entriesHeld && settledCharges == usageCosts
                    && held == pendingHolds;
        }
    }
}
