package dev.tollgate.plans;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/** The plans and stored price entries in PostgreSQL (tables {@code plans}, {@code model_prices}). */
@ApplicationScoped
public class PlanStore {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final AgroalDataSource dataSource;

    public PlanStore(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Every plan, by id, oldest first. */
    public Map<UUID, Plan> plans() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT id, name, markup_percent, model_overrides::text, created_at, updated_at FROM plans"
                        + " ORDER BY created_at, id");
             ResultSet rs = ps.executeQuery()) {
            Map<UUID, Plan> plans = new LinkedHashMap<>();
            while (rs.next()) {
                Plan plan = new Plan(rs.getObject(1, UUID.class), rs.getString(2), rs.getBigDecimal(3),
                        overrides(JSON.readTree(rs.getString(4))), rs.getTimestamp(5).toInstant(),
                        rs.getTimestamp(6).toInstant());
                plans.put(plan.id(), plan);
            }
            return plans;
        } catch (SQLException | IOException e) {
            throw new LedgerException("reading plans failed", e);
        }
    }

    /** Whether a plan with this id exists (in the caller's transaction, if any). */
    public boolean exists(UUID id) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT 1 FROM plans WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        } catch (SQLException e) {
            throw new LedgerException("reading plans failed", e);
        }
    }

    /** Every stored price entry, by model id. */
    public Map<String, JsonNode> prices() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT model_id, entry::text FROM model_prices ORDER BY model_id");
             ResultSet rs = ps.executeQuery()) {
            Map<String, JsonNode> prices = new LinkedHashMap<>();
            while (rs.next()) {
                prices.put(rs.getString(1), JSON.readTree(rs.getString(2)));
            }
            return prices;
        } catch (SQLException | IOException e) {
            throw new LedgerException("reading stored prices failed", e);
        }
    }

    /** Inserts or replaces a plan (in the caller's connection, with its audit record). */
    void save(Connection c, Plan plan, boolean insert) throws SQLException {
        String sql = insert
                ? "INSERT INTO plans (name, markup_percent, model_overrides, created_at, updated_at, id)"
                + " VALUES (?, ?, ?::jsonb, ?, ?, ?)"
                : "UPDATE plans SET name = ?, markup_percent = ?, model_overrides = ?::jsonb, created_at = ?,"
                + " updated_at = ? WHERE id = ?";
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, plan.name());
            ps.setBigDecimal(2, plan.markupPercent());
            ps.setString(3, overridesJson(plan.modelOverrides()).toString());
            ps.setTimestamp(4, Timestamp.from(plan.createdAt()));
            ps.setTimestamp(5, Timestamp.from(plan.updatedAt()));
            ps.setObject(6, plan.id());
            ps.executeUpdate();
        }
    }

    void savePrice(Connection c, String modelId, JsonNode entry) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO model_prices (model_id, entry) VALUES (?, ?::jsonb)
                ON CONFLICT (model_id) DO UPDATE SET entry = EXCLUDED.entry, updated_at = now()
                """)) {
            ps.setString(1, modelId);
            ps.setString(2, entry.toString());
            ps.executeUpdate();
        }
    }

    boolean deletePrice(Connection c, String modelId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM model_prices WHERE model_id = ?")) {
            ps.setString(1, modelId);
            return ps.executeUpdate() > 0;
        }
    }

    Connection connection() throws SQLException {
        return dataSource.getConnection();
    }

    static Map<String, ModelOverride> overrides(JsonNode node) {
        Map<String, ModelOverride> overrides = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> e = fields.next();
            JsonNode o = e.getValue();
            overrides.put(e.getKey(), new ModelOverride(decimal(o, "input"), decimal(o, "output"),
                    decimal(o, "cache_write_5m"), decimal(o, "cache_write_1h"), decimal(o, "cache_read"),
                    decimal(o, "markup_percent")));
        }
        return overrides;
    }

    /** The overrides as the API shows them and the table stores them: decimals as strings, nulls left out. */
    static ObjectNode overridesJson(Map<String, ModelOverride> overrides) {
        ObjectNode node = JSON.createObjectNode();
        overrides.forEach((model, o) -> {
            ObjectNode entry = node.putObject(model);
            put(entry, "input", o.input());
            put(entry, "output", o.output());
            put(entry, "cache_write_5m", o.cacheWrite5m());
            put(entry, "cache_write_1h", o.cacheWrite1h());
            put(entry, "cache_read", o.cacheRead());
            put(entry, "markup_percent", o.markupPercent());
        });
        return node;
    }

    private static void put(ObjectNode node, String field, BigDecimal value) {
        if (value != null) {
            node.put(field, value.toPlainString());
        }
    }

    private static BigDecimal decimal(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : new BigDecimal(v.asText());
    }

    static Instant now() {
        return Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MICROS);
    }
}
