package dev.tollgate.files;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import jakarta.inject.Singleton;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Files' and skills' ownership rows, the file quotas, and their audit records. */
@Singleton
public class FileStore {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final AgroalDataSource dataSource;
    private final FilesConfig config;

    public FileStore(AgroalDataSource dataSource, FilesConfig config) {
        this.dataSource = dataSource;
        this.config = config;
    }

    /** An upload's place in the quotas. */
    public record Reservation(UUID id, long remainingBytes) {
    }

    /** A stored file or skill: where it lives and its last known object. */
    public record Row(String id, UUID accountId, UUID upstreamId, String snapshot) {
    }

    /**
     * Reserves room for one upload of at most {@code bytes} against the account's quotas (files it
     * uploaded plus uploads in flight; files its calls' code execution made are not its uploads), under a per-account advisory lock so concurrent uploads cannot
     * both take the last room.
     *
     * @return the reservation (to {@link #endUpload} whatever the outcome) and the bytes the account
     *         may still store besides it (an upload of unknown length is stopped there)
     * @throws ApiException 403 permission_error when a quota would be exceeded
     */
    public Reservation reserveUpload(UUID account, long bytes) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?::text, 22))")) {
                    lock.setObject(1, account);
                    lock.execute();
                }
                long maxFiles;
                long maxBytes;
                long files;
                long used;
                try (PreparedStatement ps = c.prepareStatement("""
                        SELECT coalesce(a.max_files, ?), coalesce(a.max_file_bytes_total, ?),
                               (SELECT count(*) FROM files WHERE account_id = a.id AND deleted_at IS NULL AND NOT generated)
                             + (SELECT count(*) FROM file_uploads WHERE account_id = a.id),
                               (SELECT coalesce(sum(size_bytes), 0) FROM files
                                WHERE account_id = a.id AND deleted_at IS NULL AND NOT generated)
                             + (SELECT coalesce(sum(size_bytes), 0) FROM file_uploads WHERE account_id = a.id)
                        FROM accounts a WHERE a.id = ?""")) {
                    ps.setInt(1, config.maxFiles());
                    ps.setLong(2, config.maxFileBytesTotal());
                    ps.setObject(3, account);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        maxFiles = rs.getLong(1);
                        maxBytes = rs.getLong(2);
                        files = rs.getLong(3);
                        used = rs.getLong(4);
                    }
                }
                if (files + 1 > maxFiles) {
                    throw ApiException.permission("File quota reached: this account may store " + maxFiles
                            + " files and has " + files + "; delete some first");
                }
                if (used + bytes > maxBytes) {
                    throw ApiException.permission("File storage quota reached: this account may store " + maxBytes
                            + " bytes, has " + used + " and this upload may add " + bytes + "; delete some files first");
                }
                UUID id = UUID.randomUUID();
                try (PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO file_uploads (id, account_id, size_bytes) VALUES (?, ?, ?)")) {
                    ps.setObject(1, id);
                    ps.setObject(2, account);
                    ps.setLong(3, bytes);
                    ps.executeUpdate();
                }
                c.commit();
                return new Reservation(id, maxBytes - used - bytes);
            } catch (RuntimeException | SQLException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("file quota check failed", e);
        }
    }

    /** Ends an upload's reservation and, when it was stored ({@code fileId} not null), records the file and audits it. */
    public void endUpload(UUID reservation, String fileId, UUID account, UUID key, UUID upstream, long size,
                          String snapshot, String filename) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                execute(c, "DELETE FROM file_uploads WHERE id = ?", reservation);
                if (fileId != null) {
                    execute(c, """
                            INSERT INTO files (id, account_id, key_id, upstream_id, size_bytes, snapshot)
                            VALUES (?, ?, ?, ?, ?, ?::jsonb)""", fileId, account, key, upstream, size, snapshot);
                    audit(c, key, "file.upload", fileId, Map.of("account_id", account.toString(),
                            "filename", String.valueOf(filename), "size_bytes", size));
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("file record failed", e);
        }
    }

    /** The account's file (not deleted), or null. */
    public Row file(String id, UUID account) {
        List<Row> rows = rows("SELECT id, account_id, upstream_id, snapshot::text FROM files"
                + " WHERE id = ? AND account_id = ? AND deleted_at IS NULL", id, account);
        return rows.isEmpty() ? null : rows.get(0);
    }

    public void fileSnapshot(String id, String snapshot) {
        update("UPDATE files SET snapshot = ?::jsonb WHERE id = ?", snapshot, id);
    }

    public void deleteFile(String id, UUID account, UUID key) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            int n;
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE files SET deleted_at = now() WHERE id = ? AND account_id = ? AND deleted_at IS NULL")) {
                ps.setString(1, id);
                ps.setObject(2, account);
                n = ps.executeUpdate();
            }
            if (n > 0) {
                audit(c, key, "file.delete", id, Map.of("account_id", account.toString()));
            }
            c.commit();
        } catch (SQLException e) {
            throw new LedgerException("file delete failed", e);
        }
    }

    /** A page of the account's files, newest first; {@code limit + 1} rows (has_more). */
    public List<Row> files(UUID account, int limit, String afterId, String beforeId) {
        String cols = "SELECT id, account_id, upstream_id, snapshot::text FROM files WHERE account_id = ? AND deleted_at IS NULL";
        if (afterId != null) {
            return rows(cols + " AND (created_at, id) < (SELECT created_at, id FROM files WHERE id = ? AND account_id = ?)"
                    + " ORDER BY created_at DESC, id DESC LIMIT ?", account, afterId, account, limit + 1);
        }
        if (beforeId != null) {
            List<Row> rows = new ArrayList<>(rows(cols + " AND (created_at, id) > (SELECT created_at, id FROM files"
                    + " WHERE id = ? AND account_id = ?) ORDER BY created_at, id LIMIT ?", account, beforeId, account, limit + 1));
            Collections.reverse(rows);
            return rows;
        }
        return rows(cols + " ORDER BY created_at DESC, id DESC LIMIT ?", account, limit + 1);
    }

    public void insertSkill(String id, UUID account, UUID key, UUID upstream) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            execute(c, "INSERT INTO skills (id, account_id, key_id, upstream_id) VALUES (?, ?, ?, ?)", id, account, key, upstream);
            audit(c, key, "skill.create", id, Map.of("account_id", account.toString()));
            c.commit();
        } catch (SQLException e) {
            throw new LedgerException("skill record failed", e);
        }
    }

    /** The account's skill (not deleted), or null. */
    public Row skill(String id, UUID account) {
        List<Row> rows = rows("SELECT id, account_id, upstream_id, '{}' FROM skills"
                + " WHERE id = ? AND account_id = ? AND deleted_at IS NULL", id, account);
        return rows.isEmpty() ? null : rows.get(0);
    }

    /** Every skill id of the account (for filtering the upstream's list). */
    public java.util.Set<String> skillIds(UUID account) {
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (Row r : rows("SELECT id, account_id, upstream_id, '{}' FROM skills WHERE account_id = ? AND deleted_at IS NULL",
                account)) {
            ids.add(r.id());
        }
        return ids;
    }

    public void deleteSkill(String id, UUID account, UUID key) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            execute(c, "UPDATE skills SET deleted_at = now() WHERE id = ? AND account_id = ?", id, account);
            audit(c, key, "skill.delete", id, Map.of("account_id", account.toString()));
            c.commit();
        } catch (SQLException e) {
            throw new LedgerException("skill delete failed", e);
        }
    }

    private static void audit(Connection c, UUID key, String action, String subject, Object details) throws SQLException {
        try {
            execute(c, "INSERT INTO audit_log (actor, action, subject_id, details) VALUES (?, ?, ?, ?::jsonb)",
                    "key:" + key, action, subject, JSON.writeValueAsString(details));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static void execute(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            ps.executeUpdate();
        }
    }

    private void update(String sql, Object... args) {
        try (Connection c = dataSource.getConnection()) {
            execute(c, sql, args);
        } catch (SQLException e) {
            throw new LedgerException("file update failed", e);
        }
    }

    private List<Row> rows(String sql, Object... args) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            List<Row> rows = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(new Row(rs.getString(1), rs.getObject(2, UUID.class), rs.getObject(3, UUID.class), rs.getString(4)));
                }
            }
            return rows;
        } catch (SQLException e) {
            throw new LedgerException("file lookup failed", e);
        }
    }
}
