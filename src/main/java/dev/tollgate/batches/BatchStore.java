package dev.tollgate.batches;

import dev.tollgate.ledger.LedgerException;
import dev.tollgate.limits.LimitExceededException;
import io.agroal.api.AgroalDataSource;
import jakarta.inject.Singleton;
import org.postgresql.util.PSQLException;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;

/** The batches' ownership rows and their money functions (R__batches.sql). */
@Singleton
public class BatchStore {

    private static final String COLUMNS = "id, account_id, key_id, upstream_id, hold_id, request_count, snapshot::text,"
            + " processing_status, settled_at, models::text, created_at, plan_id";

    private final AgroalDataSource dataSource;

    public BatchStore(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** One batch as stored. {@code models}: JSON object custom_id → billed model ("1h:" prefix: only 1-hour cache TTLs asked). */
    public record Row(String id, UUID accountId, UUID keyId, UUID upstreamId, UUID holdId, int requestCount,
                      String snapshot, String processingStatus, Instant settledAt, String models, Instant createdAt,
                      UUID planId) {
    }

    private static Row row(ResultSet rs) throws SQLException {
        Timestamp settled = rs.getTimestamp(9);
        return new Row(rs.getString(1), rs.getObject(2, UUID.class), rs.getObject(3, UUID.class),
                rs.getObject(4, UUID.class), rs.getObject(5, UUID.class), rs.getInt(6), rs.getString(7),
                rs.getString(8), settled == null ? null : settled.toInstant(), rs.getString(10),
                rs.getTimestamp(11).toInstant(), rs.getObject(12, UUID.class));
    }

    /**
     * Holds a batch's worst case; null when held, else the available balance (nothing held).
     *
     * @throws LimitExceededException the key's or account's spend cap or requests per minute refused it
     */
    public Long hold(UUID hold, UUID account, UUID key, String requestId, String model, long amount, Duration lease) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT tg_batch_hold(?, ?, ?, ?, ?, ?, ?)")) {
            ps.setObject(1, hold);
            ps.setObject(2, account);
            ps.setObject(3, key);
            ps.setString(4, requestId);
            ps.setString(5, model);
            ps.setLong(6, amount);
            ps.setInt(7, (int) Math.min(Integer.MAX_VALUE, lease.toSeconds()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                long available = rs.getLong(1);
                return rs.wasNull() ? null : available;
            }
        } catch (SQLException e) {
            if ("TG429".equals(e.getSQLState()) || "TG430".equals(e.getSQLState())) {
                throw LimitExceededException.fromDatabase(e instanceof PSQLException p && p.getServerErrorMessage() != null
                        ? p.getServerErrorMessage().getMessage() : e.getMessage());
            }
            throw new LedgerException("batch hold failed", e);
        }
    }

    public void release(UUID hold, String note) {
        update("SELECT tg_batch_release(?, ?)", hold, note);
    }

    public void insert(String id, UUID account, UUID key, UUID upstream, UUID hold, int requests, String snapshot,
                       String status, String models, UUID plan) {
        update("""
                INSERT INTO message_batches (id, account_id, key_id, upstream_id, hold_id, request_count, snapshot,
                                             processing_status, models, plan_id)
                VALUES (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?::jsonb, ?)""", id, account, key, upstream, hold, requests, snapshot,
                status, models, plan);
    }

    /** The account's batch (not deleted), or null: another account's is never found. */
    public Row find(String id, UUID account) {
        List<Row> rows = query("SELECT " + COLUMNS + " FROM message_batches WHERE id = ? AND account_id = ? AND deleted_at IS NULL",
                id, account);
        return rows.isEmpty() ? null : rows.get(0);
    }

    public Row find(String id) {
        List<Row> rows = query("SELECT " + COLUMNS + " FROM message_batches WHERE id = ?", id);
        return rows.isEmpty() ? null : rows.get(0);
    }

    /**
     * A page of the account's batches, newest first, as the API pages: after {@code afterId} (older
     * ones) or before {@code beforeId} (newer ones); {@code limit + 1} rows so the caller knows has_more.
     */
    public List<Row> page(UUID account, int limit, String afterId, String beforeId) {
        if (afterId != null) {
            return query("SELECT " + COLUMNS + " FROM message_batches b WHERE account_id = ? AND deleted_at IS NULL"
                    + " AND (created_at, id) < (SELECT created_at, id FROM message_batches WHERE id = ? AND account_id = ?)"
                    + " ORDER BY created_at DESC, id DESC LIMIT ?", account, afterId, account, limit + 1);
        }
        if (beforeId != null) {
            List<Row> rows = new ArrayList<>(query("SELECT " + COLUMNS + " FROM message_batches b WHERE account_id = ?"
                    + " AND deleted_at IS NULL"
                    + " AND (created_at, id) > (SELECT created_at, id FROM message_batches WHERE id = ? AND account_id = ?)"
                    + " ORDER BY created_at, id LIMIT ?", account, beforeId, account, limit + 1));
            Collections.reverse(rows);
            return rows;
        }
        return query("SELECT " + COLUMNS + " FROM message_batches WHERE account_id = ? AND deleted_at IS NULL"
                + " ORDER BY created_at DESC, id DESC LIMIT ?", account, limit + 1);
    }

    public void snapshot(String id, String snapshot, String status) {
        // An ended batch seen by a customer's read is due for settlement at the next pass.
        update("UPDATE message_batches SET snapshot = ?::jsonb, processing_status = ?,"
                + " next_poll_at = CASE WHEN ? = 'ended' AND settled_at IS NULL THEN least(next_poll_at, now()) ELSE next_poll_at END"
                + " WHERE id = ?", snapshot, status, status, id);
    }

    public void markDeleted(String id) {
        update("UPDATE message_batches SET deleted_at = now() WHERE id = ? AND deleted_at IS NULL", id);
    }

    /**
     * Claims up to {@code limit} unsettled batches due for a poll, moving their next poll
     * {@code lease} ahead so no other instance polls them meanwhile (SKIP LOCKED: instances never wait
     * on each other).
     */
    public List<Row> claimDue(int limit, Duration lease) {
        return query("UPDATE message_batches SET next_poll_at = now() + make_interval(secs => ?) WHERE id IN ("
                + " SELECT id FROM message_batches WHERE settled_at IS NULL AND next_poll_at <= now()"
                + " ORDER BY next_poll_at LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING " + COLUMNS,
                (double) lease.toMillis() / 1000, limit);
    }

    /** The per-request results of an ended batch, as arrays in one order. */
    public record Settlement(List<String> customIds, List<String> models, List<Long> input, List<Long> output,
                             List<Long> write5m, List<Long> write1h, List<Long> read, List<Long> webSearches,
                             List<Long> costs, List<String> status, List<Integer> httpStatus,
                             List<String> upstreamRequestIds, List<Long> upstreamCosts) {
        public Settlement() {
            this(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
                    new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
                    new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        }
    }

    /** Settles the batch once (tg_settle_message_batch): the total charged, or null when it was already settled. */
    public Long settle(String batchId, Settlement s, String upstreamName) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT tg_settle_message_batch(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, batchId);
            ps.setArray(2, c.createArrayOf("text", s.customIds().toArray()));
            ps.setArray(3, c.createArrayOf("text", s.models().toArray()));
            ps.setArray(4, c.createArrayOf("bigint", s.input().toArray()));
            ps.setArray(5, c.createArrayOf("bigint", s.output().toArray()));
            ps.setArray(6, c.createArrayOf("bigint", s.write5m().toArray()));
            ps.setArray(7, c.createArrayOf("bigint", s.write1h().toArray()));
            ps.setArray(8, c.createArrayOf("bigint", s.read().toArray()));
            ps.setArray(9, c.createArrayOf("bigint", s.webSearches().toArray()));
            ps.setArray(10, c.createArrayOf("bigint", s.costs().toArray()));
            ps.setArray(11, c.createArrayOf("text", s.status().toArray()));
            ps.setArray(12, c.createArrayOf("int4", s.httpStatus().toArray()));
            ps.setArray(13, c.createArrayOf("text", s.upstreamRequestIds().toArray()));
            ps.setString(14, upstreamName);
            ps.setArray(15, c.createArrayOf("bigint", s.upstreamCosts().toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                long total = rs.getLong(1);
                return rs.wasNull() ? null : total;
            }
        } catch (SQLException e) {
            throw new LedgerException("batch settlement failed", e);
        }
    }

    private List<Row> query(String sql, Object... args) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, args);
            List<Row> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(row(rs));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new LedgerException("batch lookup failed", e);
        }
    }

    private void update(String sql, Object... args) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, args);
            ps.execute();
        } catch (SQLException e) {
            throw new LedgerException("batch update failed", e);
        }
    }

    private static void bind(PreparedStatement ps, Object[] args) throws SQLException {
        for (int i = 0; i < args.length; i++) {
            ps.setObject(i + 1, args[i]);
        }
    }

}
