package dev.tollgate.webhooks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.api.RequestIds;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The transactional outbox: an event is written, once per webhook subscribed to its type, in the
 * transaction of the change that caused it. Either both commit or neither, so no event is lost
 * on a crash and none is sent for a change that was rolled back. {@link WebhookDispatcher}
 * delivers the rows.
 */
@ApplicationScoped
public class Outbox {

    public static final String TOPUP_CREATED = "topup.created";
    public static final String REDEMPTION_CREATED = "redemption.created";
    public static final String KEY_CREATED = "key.created";
    public static final String KEY_REVOKED = "key.revoked";
    public static final String BALANCE_LOW = "balance.low";
    public static final String BALANCE_DEPLETED = "balance.depleted";
    public static final String CREDIT_EXPIRING = "credit.expiring";
    public static final String UPSTREAM_COOLING_DOWN = "upstream.cooling_down";
    public static final Set<String> EVENT_TYPES = Set.of(TOPUP_CREATED, REDEMPTION_CREATED, KEY_CREATED, KEY_REVOKED,
            BALANCE_LOW, BALANCE_DEPLETED, CREDIT_EXPIRING, UPSTREAM_COOLING_DOWN);
    /** Sent to one webhook when the operator asks for a test; never subscribed to. */
    public static final String WEBHOOK_TEST = "webhook.test";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final AgroalDataSource dataSource;

    public Outbox(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Inside a @Transactional method: the connection joins that transaction. */
    public void emit(String type, Map<String, Object> data) {
        try (Connection c = dataSource.getConnection()) {
            emit(c, type, data);
        } catch (SQLException e) {
            throw new LedgerException("writing a webhook event failed", e);
        }
    }

    /** Writes the event on {@code c}, in the caller's transaction. */
    public void emit(Connection c, String type, Map<String, Object> data) throws SQLException {
        if (!EVENT_TYPES.contains(type)) {
            throw new IllegalArgumentException("unknown webhook event type " + type);
        }
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload)
                SELECT id, ?, ?, ? FROM webhooks WHERE ? = ANY (events)
                """)) {
            // One id for the event on every webhook: receivers deduplicate by it (delivery is at least once).
            ps.setString(1, newEventId());
            ps.setString(2, type);
            ps.setString(3, payload(type, data));
            ps.setString(4, type);
            ps.executeUpdate();
        }
    }

    /** Queues a {@link #WEBHOOK_TEST} event for {@code webhook} alone, on {@code c}; returns its event id. */
    public String emitTest(Connection c, UUID webhook) throws SQLException {
        String eventId = newEventId();
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, payload) VALUES (?, ?, ?, ?)")) {
            ps.setObject(1, webhook);
            ps.setString(2, eventId);
            ps.setString(3, WEBHOOK_TEST);
            ps.setString(4, payload(WEBHOOK_TEST, Map.of("webhook_id", webhook.toString())));
            ps.executeUpdate();
        }
        return eventId;
    }

    private static String newEventId() {
        return "msg_" + RequestIds.randomBase62(24);
    }

    private static String payload(String type, Map<String, Object> data) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", type);
        event.put("timestamp", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
        event.put("data", data);
        try {
            return JSON.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("webhook event data is not serialisable", e);
        }
    }
}
