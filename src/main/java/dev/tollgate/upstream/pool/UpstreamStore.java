package dev.tollgate.upstream.pool;

import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/** The {@code upstreams} table. Credentials go in and come out sealed; this class never sees them in clear. */
@ApplicationScoped
public class UpstreamStore {

    private static final String COLUMNS =
            "id, name, kind, base_url, credential, key_hint, weight, priority, models, max_concurrent, enabled, created_at,"
            + " settings, price_multiplier";

    /** A row as stored. */
    record Row(UUID id, String name, String kind, String baseUrl, byte[] credential, String keyHint, int weight,
               int priority, List<String> models, Integer maxConcurrent, boolean enabled, Instant createdAt,
               String settings, BigDecimal priceMultiplier) {
    }

    private final AgroalDataSource dataSource;

    public UpstreamStore(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Every upstream not deleted. */
    List<Row> live() {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM upstreams WHERE deleted_at IS NULL ORDER BY created_at, id");
             ResultSet rs = ps.executeQuery()) {
            List<Row> rows = new ArrayList<>();
            while (rs.next()) {
                Array models = rs.getArray("models");
                Object max = rs.getObject("max_concurrent");
                rows.add(new Row(rs.getObject("id", UUID.class), rs.getString("name"), rs.getString("kind"),
                        rs.getString("base_url"), rs.getBytes("credential"), rs.getString("key_hint"), rs.getInt("weight"),
                        rs.getInt("priority"), models == null ? null : Arrays.asList((String[]) models.getArray()),
                        max == null ? null : ((Number) max).intValue(), rs.getBoolean("enabled"),
                        rs.getTimestamp("created_at").toInstant(), rs.getString("settings"),
                        rs.getBigDecimal("price_multiplier")));
            }
            return rows;
        } catch (SQLException e) {
            throw new IllegalStateException("reading upstreams failed", e);
        }
    }

    /** Inserts or replaces a live upstream, in the caller's transaction when there is one. */
    void save(Row row, boolean insert) {
        String sql = insert
                ? "INSERT INTO upstreams (name, kind, base_url, credential, key_hint, weight, priority, models, "
                  + "max_concurrent, enabled, settings, price_multiplier, created_at, id)"
                  + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?)"
                : "UPDATE upstreams SET name = ?, kind = ?, base_url = ?, credential = ?, key_hint = ?, weight = ?, "
                  + "priority = ?, models = ?, max_concurrent = ?, enabled = ?, settings = ?::jsonb, price_multiplier = ?"
                  + " WHERE id = ? AND deleted_at IS NULL";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, row.name());
            ps.setString(2, row.kind());
            ps.setString(3, row.baseUrl());
            ps.setBytes(4, row.credential());
            ps.setString(5, row.keyHint());
            ps.setInt(6, row.weight());
            ps.setInt(7, row.priority());
            ps.setArray(8, row.models() == null ? null : c.createArrayOf("text", row.models().toArray()));
            ps.setObject(9, row.maxConcurrent());
            ps.setBoolean(10, row.enabled());
            ps.setString(11, row.settings());
            ps.setBigDecimal(12, row.priceMultiplier());
            if (insert) {
                ps.setObject(13, java.sql.Timestamp.from(row.createdAt()));
                ps.setObject(14, row.id());
            } else {
                ps.setObject(13, row.id());
            }
            ps.executeUpdate();
        } catch (SQLException e) {
            if ("23505".equals(e.getSQLState())) {
                throw new DuplicateName();
            }
            throw new IllegalStateException("writing an upstream failed", e);
        }
    }

    /** Disables and hides an upstream; its usage records keep its id and name. */
    boolean delete(UUID id) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "UPDATE upstreams SET enabled = false, deleted_at = now() WHERE id = ? AND deleted_at IS NULL")) {
            ps.setObject(1, id);
            return ps.executeUpdate() == 1;
        } catch (SQLException e) {
            throw new IllegalStateException("deleting an upstream failed", e);
        }
    }

    /** Another live upstream already has the name. */
    static final class DuplicateName extends RuntimeException {
        DuplicateName() {
            super(null, null, false, false);
        }
    }
}
