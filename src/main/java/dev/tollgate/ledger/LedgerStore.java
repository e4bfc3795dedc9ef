package dev.tollgate.ledger;

import dev.tollgate.metering.CallRecord;
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
 * The money path, in plain JDBC. Every operation is one SQL statement (data-modifying CTEs), so it
 * is atomic, costs one round trip, and never holds a transaction open across an upstream call.
 * Overspending is impossible by construction: a hold is a conditional UPDATE that only succeeds
 * while balance - held covers it, evaluated by PostgreSQL under the row lock.
 */
@ApplicationScoped
public class LedgerStore {

    private static final String HOLD = """
            WITH acct AS (
                UPDATE accounts SET held = held + ?
                WHERE id = ? AND balance - held >= ?
                RETURNING id
            ), h AS (
                INSERT INTO holds (id, account_id, key_id, request_id, model, endpoint, stream, amount, expires_at)
                SELECT ?, id, ?, ?, ?, ?, ?, ?, now() + make_interval(secs => ?) FROM acct
                RETURNING id, account_id, request_id, amount
            )
            INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
            SELECT account_id, 'hold', 0, amount, id, request_id FROM h
            """;

    private static final String USAGE_COLUMNS = """
            request_id, account_id, key_id, model, input_tokens, output_tokens, cache_creation_5m_input_tokens,
            cache_creation_1h_input_tokens, cache_read_input_tokens, web_search_requests, cost, status, http_status,
            stream, endpoint, latency_ms, upstream_request_id, referer, title""";

    /** Closes a pending hold: posts the cost, releases the whole hold, writes the usage record. */
    private static final String SETTLE = """
            WITH h AS (
                UPDATE holds SET state = ?, closed_at = now()
                WHERE id = ? AND state = 'pending'
                RETURNING id, account_id, amount
            ), acct AS (
                UPDATE accounts SET balance = balance - ?, held = held - h.amount
                FROM h WHERE accounts.id = h.account_id
                RETURNING accounts.id
            ), entry AS (
                INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id)
                SELECT account_id, ?, -?, -amount, id, ? FROM h
            )
            INSERT INTO usage_records (%s)
            SELECT ?, h.account_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM h
            """.formatted(USAGE_COLUMNS);

    /**
     * A call whose hold the reaper already released (its instance looked dead) still cost what it
     * cost: post it without a hold and complete the 'abandoned' record the reaper wrote.
     */
    private static final String SETTLE_LATE = """
            WITH acct AS (
                UPDATE accounts SET balance = balance - ? WHERE id = ? AND ? > 0 RETURNING id
            ), entry AS (
                INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, request_id, note)
                SELECT id, 'settlement', -?, 0, ?, 'settled after its hold expired' FROM acct
            )
            INSERT INTO usage_records (%s)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (request_id) DO UPDATE SET
                input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens,
                cache_creation_5m_input_tokens = EXCLUDED.cache_creation_5m_input_tokens,
                cache_creation_1h_input_tokens = EXCLUDED.cache_creation_1h_input_tokens,
                cache_read_input_tokens = EXCLUDED.cache_read_input_tokens,
                web_search_requests = EXCLUDED.web_search_requests, cost = EXCLUDED.cost, status = EXCLUDED.status,
                http_status = EXCLUDED.http_status, latency_ms = EXCLUDED.latency_ms,
                upstream_request_id = EXCLUDED.upstream_request_id
            """.formatted(USAGE_COLUMNS);

    /** Releases expired pending holds in one batch and records their calls as abandoned. */
    private static final String REAP = """
            WITH h AS (
                UPDATE holds SET state = 'expired', closed_at = now()
                WHERE id IN (SELECT id FROM holds WHERE state = 'pending' AND expires_at < now()
                             ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED)
                RETURNING id, account_id, key_id, request_id, model, endpoint, stream, amount
            ), per_account AS (
                SELECT account_id, sum(amount) AS total FROM h GROUP BY account_id
            ), acct AS (
                UPDATE accounts SET held = accounts.held - per_account.total
                FROM per_account WHERE accounts.id = per_account.account_id
                RETURNING accounts.id
            ), entry AS (
                INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, hold_id, request_id, note)
                SELECT account_id, 'release', 0, -amount, id, request_id, 'hold expired unsettled' FROM h
            ), rec AS (
                INSERT INTO usage_records (request_id, account_id, key_id, model, cost, status, http_status, stream,
                                           endpoint, latency_ms)
                SELECT request_id, account_id, key_id, model, 0, 'abandoned', 0, stream, endpoint, 0 FROM h
                ON CONFLICT (request_id) DO NOTHING
            )
            SELECT count(*) FROM h
            """;

    private final AgroalDataSource dataSource;

    public LedgerStore(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** What a hold needs to know of its call, so the reaper can record it if nobody settles it. */
    public record CallInfo(String requestId, UUID keyId, String model, String endpoint, boolean stream) {
    }

    /**
     * Places a hold of {@code amount} if the account's available balance covers it.
     *
     * @throws InsufficientBalanceException when it does not (nothing is written)
     */
    public Hold hold(UUID accountId, long amount, CallInfo call, Duration ttl) {
        UUID holdId = UUID.randomUUID();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(HOLD)) {
            ps.setLong(1, amount);
            ps.setObject(2, accountId);
            ps.setLong(3, amount);
            ps.setObject(4, holdId);
            ps.setObject(5, call.keyId());
            ps.setString(6, call.requestId());
            ps.setString(7, call.model());
            ps.setString(8, call.endpoint());
            ps.setBoolean(9, call.stream());
            ps.setLong(10, amount);
            ps.setDouble(11, ttl.toSeconds()); // whole seconds: exact in a double
            if (ps.executeUpdate() == 1) {
                return new Hold(holdId, accountId, amount);
            }
            long[] totals = totals(c, accountId);
            throw new InsufficientBalanceException(amount, totals == null ? 0 : totals[0] - totals[1]);
        } catch (SQLException e) {
            throw new LedgerException("hold failed", e);
        }
    }

    /** Settles a hold: charges {@code record.costNanos()}, releases the rest, writes the usage record. */
    public void settle(Hold hold, CallRecord record) {
        String kind = record.costNanos() > 0 ? "settlement" : "release";
        try (Connection c = dataSource.getConnection()) {
            int rows;
            try (PreparedStatement ps = c.prepareStatement(SETTLE)) {
                ps.setString(1, record.costNanos() > 0 ? "settled" : "released");
                ps.setObject(2, hold.id());
                ps.setLong(3, record.costNanos());
                ps.setString(4, kind);
                ps.setLong(5, record.costNanos());
                ps.setString(6, record.requestId());
                bindUsage(ps, 7, record, false);
                rows = ps.executeUpdate();
            }
            if (rows == 0) {
                Log.warnf("Hold %s of %s was no longer pending; settling %s without it", hold.id(), record.requestId(),
                        Money.format(record.costNanos()));
                try (PreparedStatement ps = c.prepareStatement(SETTLE_LATE)) {
                    ps.setLong(1, record.costNanos());
                    ps.setObject(2, hold.accountId());
                    ps.setLong(3, record.costNanos());
                    ps.setLong(4, record.costNanos());
                    ps.setString(5, record.requestId());
                    bindUsage(ps, 6, record, true);
                    ps.executeUpdate();
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("settlement of " + record.requestId() + " failed", e);
        }
    }

    private static void bindUsage(PreparedStatement ps, int i, CallRecord r, boolean withAccount) throws SQLException {
        ps.setString(i++, r.requestId());
        if (withAccount) {
            ps.setObject(i++, r.accountId());
        }
        ps.setObject(i++, r.keyId());
        ps.setString(i++, r.model());
        ps.setLong(i++, r.usage().input());
        ps.setLong(i++, r.usage().output());
        ps.setLong(i++, r.usage().cacheWrite5m());
        ps.setLong(i++, r.usage().cacheWrite1h());
        ps.setLong(i++, r.usage().cacheRead());
        ps.setLong(i++, r.usage().webSearchRequests());
        ps.setLong(i++, r.costNanos());
        ps.setString(i++, r.status().dbValue());
        ps.setInt(i++, r.httpStatus());
        ps.setBoolean(i++, r.stream());
        ps.setString(i++, r.endpoint());
        ps.setInt(i++, (int) Math.min(Integer.MAX_VALUE, r.latencyMs()));
        setNullableString(ps, i++, r.upstreamRequestId());
        setNullableString(ps, i++, r.referer());
        setNullableString(ps, i, r.title());
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
