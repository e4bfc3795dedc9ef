package dev.tollgate.ledger;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Expiring credit: each credit with an expiry is a lot (credit_lots). Holds and settlements never
 * look at lots: the running balance stays the one number they check. Spending is attributed to
 * the lots lazily ({@link LotBook}), from the ledger in order, up to a per-account checkpoint, by
 * {@link #settle} (the expiry job, under the account's row lock) and, without writing anything,
 * by {@link #view}.
 *
 * <p>Why the row lock makes the checkpoint safe: every transaction that writes a debit (a
 * settlement, a negative adjustment) or a lot locks the account row before it inserts its ledger
 * entry. Holding that lock, the job sees every such entry with an id below the ones still to come,
 * so no entry can commit later below the checkpoint.
 */
@ApplicationScoped
public class CreditLots {

    private final AgroalDataSource dataSource;

    public CreditLots(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Makes the credit of ledger entry {@code entryId} a lot expiring at {@code expiresAt}, in the credit's transaction. */
    public void add(Connection c, long entryId, UUID accountId, long amount, Instant expiresAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT tg_add_lot(?, ?, ?, ?)")) {
            ps.setLong(1, entryId);
            ps.setObject(2, accountId);
            ps.setLong(3, amount);
            ps.setTimestamp(4, Timestamp.from(expiresAt));
            ps.execute();
        }
    }

    /** A lot as shown: what is left of it now. */
    public record LotView(long entryId, long amount, long spent, long expired, long remaining, Instant expiresAt,
                          Instant createdAt, boolean expiringNotified) {
        static LotView of(LotBook.Lot l, boolean notified) {
            return new LotView(l.entryId, l.amount, l.spent, l.expired, l.remaining(), l.expiresAt, l.createdAt, notified);
        }
    }

    /** The account's lots with something left, soonest-expiring first: attributed up to now, nothing written. */
    public List<LotView> view(UUID accountId) {
        try (Connection c = dataSource.getConnection()) {
            // One snapshot for the checkpoint, the lots and the entries: a pass of the expiry job
            // committing in between would otherwise have its attribution counted twice.
            int isolation = c.getTransactionIsolation();
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                Long checkpoint = checkpoint(c, accountId);
                if (checkpoint == null) {
                    return List.of();
                }
                Lots lots = openLots(c, accountId);
                LotBook.attribute(lots.lots, segments(c, accountId, checkpoint, lots.lots).segments);
                List<LotView> views = new ArrayList<>();
                for (int i = 0; i < lots.lots.size(); i++) {
                    LotBook.Lot l = lots.lots.get(i);
                    if (l.remaining() > 0) {
                        views.add(LotView.of(l, lots.notified.get(i)));
                    }
                }
                return views;
            } finally {
                c.rollback();
                c.setTransactionIsolation(isolation);
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new LedgerException("reading credit lots failed", e);
        }
    }

    /** One lot's expiry: the amount taken out of the balance, and its ledger entry. */
    public record Expiry(long lotEntryId, long amount, long entryId, long remainingAfter) {
    }

    /** What {@link #settle} did, and the account's open lots after it (with the database's time). */
    public record Settled(List<Expiry> expiries, List<LotView> open, long balance, long held, Instant now) {
    }

    /**
     * Inside the caller's transaction, under the account row's lock: attributes the spending since
     * the checkpoint to the lots and writes it back, then expires every lot whose time has come.
     * A lot's expiry takes what is left of it, but never more than the available balance (balance
     * minus held): money held by calls in flight stays, their settlements draw on the lot first, and
     * what is still left of the lot after them is expired by a later run. Null when the account has
     * no lots.
     */
    public Settled settle(Connection c, UUID accountId) throws SQLException {
        long balance;
        long held;
        Instant now;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT balance, held, now() FROM accounts WHERE id = ? FOR UPDATE")) {
            ps.setObject(1, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                balance = rs.getLong(1);
                held = rs.getLong(2);
                now = rs.getTimestamp(3).toInstant();
            }
        }
        Long checkpoint = checkpoint(c, accountId);
        if (checkpoint == null) {
            return null;
        }
        Lots lots = openLots(c, accountId);
        Segments segments = segments(c, accountId, checkpoint, lots.lots);
        LotBook.attribute(lots.lots, segments.segments);

        List<Expiry> expiries = new ArrayList<>();
        java.util.Set<Long> done = new java.util.HashSet<>();
        for (LotBook.Lot lot : lots.lots) {
            if (lot.expiresAt.isAfter(now) || lot.remaining() == 0) {
                continue;
            }
            long amount = Math.min(lot.remaining(), Math.max(0, balance - held));
            if (amount > 0) {
                long entryId = expire(c, accountId, lot.entryId, amount);
                lot.expired += amount;
                lot.changed = true;
                balance -= amount;
                expiries.add(new Expiry(lot.entryId, amount, entryId, lot.remaining()));
            }
            if (lot.remaining() > 0 && held == 0) {
                // Nothing is in flight: what the balance lacks of the lot's remainder was spent
                // before the lot came (it paid a debt below zero). Nothing of it is left to expire.
                lot.changed = true;
                done.add(lot.entryId);
            }
        }
        try (PreparedStatement ps = c.prepareStatement("""
                UPDATE credit_lots SET spent = ?, expired = ?, closed_at = CASE WHEN ? THEN now() END WHERE entry_id = ?
                """)) {
            for (LotBook.Lot lot : lots.lots) {
                if (lot.changed) {
                    ps.setLong(1, lot.spent);
                    ps.setLong(2, lot.expired);
                    ps.setBoolean(3, lot.remaining() == 0 || done.contains(lot.entryId));
                    ps.setLong(4, lot.entryId);
                    ps.addBatch();
                }
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE credit_lot_accounts SET attributed_through = ?, attributed_at = now() WHERE account_id = ?")) {
            ps.setLong(1, Math.max(checkpoint, segments.lastId));
            ps.setObject(2, accountId);
            ps.executeUpdate();
        }
        if (!expiries.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT tg_low_balance(?)")) {
                ps.setObject(1, accountId);
                ps.execute();
            }
        }
        List<LotView> open = new ArrayList<>();
        for (int i = 0; i < lots.lots.size(); i++) {
            if (lots.lots.get(i).remaining() > 0 && !done.contains(lots.lots.get(i).entryId)) {
                open.add(LotView.of(lots.lots.get(i), lots.notified.get(i)));
            }
        }
        return new Settled(expiries, open, balance, held, now);
    }

    private static long expire(Connection c, UUID accountId, long lotEntryId, long amount) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET balance = balance - ? WHERE id = ?")) {
            ps.setLong(1, amount);
            ps.setObject(2, accountId);
            ps.executeUpdate();
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, note)
                VALUES (?, 'expiry', ?, 0, ?) RETURNING id
                """)) {
            ps.setObject(1, accountId);
            ps.setLong(2, -amount);
            ps.setString(3, "credit lot " + lotEntryId + " expired");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static Long checkpoint(Connection c, UUID accountId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT attributed_through FROM credit_lot_accounts WHERE account_id = ?")) {
            ps.setObject(1, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    private record Lots(List<LotBook.Lot> lots, List<Boolean> notified) {
    }

    private static Lots openLots(Connection c, UUID accountId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT entry_id, amount, expires_at, created_at, spent, expired, expiring_notified_at IS NOT NULL
                FROM credit_lots WHERE account_id = ? AND closed_at IS NULL ORDER BY expires_at, entry_id
                """)) {
            ps.setObject(1, accountId);
            List<LotBook.Lot> lots = new ArrayList<>();
            List<Boolean> notified = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    lots.add(new LotBook.Lot(rs.getLong(1), rs.getLong(2), rs.getTimestamp(3).toInstant(),
                            rs.getTimestamp(4).toInstant(), rs.getLong(5), rs.getLong(6)));
                    notified.add(rs.getBoolean(7));
                }
            }
            return new Lots(lots, notified);
        }
    }

    private record Segments(List<LotBook.Segment> segments, long lastId) {
    }

    /**
     * The debits after the checkpoint, summed per segment: segment i (width_bucket over the ids of
     * the lots credited after the checkpoint) holds the debits after the i-th of those lots.
     * Expiry entries are not debits here: each lot's expired amount is kept on the lot itself.
     */
    private static Segments segments(Connection c, UUID accountId, long checkpoint, List<LotBook.Lot> lots)
            throws SQLException {
        List<Long> newLots = new ArrayList<>();
        for (LotBook.Lot lot : lots) {
            if (lot.entryId > checkpoint) {
                newLots.add(lot.entryId);
            }
        }
        newLots.sort(null);
        long lastId = newLots.isEmpty() ? checkpoint : newLots.getLast();
        List<LotBook.Segment> segments = new ArrayList<>();
        for (Long lot : newLots) {
            segments.add(new LotBook.Segment(lot, 0));
        }
        segments.addFirst(new LotBook.Segment(null, 0));
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT width_bucket(id, ?::bigint[]), -sum(balance_delta), max(id) FROM ledger_entries
                WHERE account_id = ? AND id > ? AND balance_delta < 0 AND kind <> 'expiry'
                GROUP BY 1 ORDER BY 1
                """)) {
            ps.setArray(1, c.createArrayOf("bigint", newLots.toArray()));
            ps.setObject(2, accountId);
            ps.setLong(3, checkpoint);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int i = rs.getInt(1);
                    segments.set(i, new LotBook.Segment(segments.get(i).startsWithLot(), rs.getLong(2)));
                    lastId = Math.max(lastId, rs.getLong(3));
                }
            }
        }
        return new Segments(segments, lastId);
    }
}
