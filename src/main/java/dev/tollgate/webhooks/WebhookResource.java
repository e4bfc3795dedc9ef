package dev.tollgate.webhooks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.admin.AuditLog;
import dev.tollgate.admin.Json;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.net.URI;
import java.net.URISyntaxException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/** The operator's webhooks: create (secret shown once), list, get, delete, and each one's deliveries. */
@Path("/admin/v1/webhooks")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class WebhookResource {

    private static final Set<String> FIELDS = Set.of("url", "events", "secret");
    private static final int MAX_PAGE = 1000;

    private final AgroalDataSource dataSource;
    private final AuditLog audit;
    private final Outbox outbox;

    public WebhookResource(AgroalDataSource dataSource, AuditLog audit, Outbox outbox) {
        this.dataSource = dataSource;
        this.audit = audit;
        this.outbox = outbox;
    }

    @POST
    public RestResponse<WebhookViews.Created> create(JsonNode body) {
        Json.onlyFields(body, FIELDS);
        String url = url(Json.requiredString(body, "url", 2000));
        List<String> events = events(body.get("events"));
        String secret = Json.optionalString(body, "secret", 200);
        if (secret == null) {
            secret = WebhookSignature.newSecret();
        } else if (WebhookSignature.problem(secret) != null) {
            throw ApiException.invalidRequest("secret: " + WebhookSignature.problem(secret));
        }
        UUID id = UUID.randomUUID();
        Instant createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?)")) {
                ps.setObject(1, id);
                ps.setString(2, url);
                ps.setArray(3, c.createArrayOf("text", events.toArray()));
                ps.setString(4, secret);
                ps.setTimestamp(5, Timestamp.from(createdAt));
                ps.executeUpdate();
                audit.record(c, "webhook.create", id.toString(), Map.of("url", url, "events", events));
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("creating a webhook failed", e);
        }
        return RestResponse.status(RestResponse.Status.CREATED, new WebhookViews.Created(id, url, events, secret, createdAt));
    }

    /** Webhook URLs are the operator's, but only http and https are ever called. */
    private static String url(String text) {
        try {
            URI uri = new URI(text.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw ApiException.invalidRequest("url: must be an http or https URL");
            }
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                throw ApiException.invalidRequest("url: must name a host");
            }
            return uri.toString();
        } catch (URISyntaxException e) {
            throw ApiException.invalidRequest("url: not a valid URL: " + e.getReason());
        }
    }

    private static List<String> events(JsonNode node) {
        List<String> events = Json.optionalStringList(node, "events", "event types");
        if (events == null) {
            throw ApiException.invalidRequest("events: Field required; one or more of " + new TreeSet<>(Outbox.EVENT_TYPES));
        }
        for (String event : events) {
            if (!Outbox.EVENT_TYPES.contains(event)) {
                throw ApiException.invalidRequest("events: unknown event type " + event + "; expected any of "
                        + new TreeSet<>(Outbox.EVENT_TYPES));
            }
        }
        return new ArrayList<>(new LinkedHashSet<>(events));
    }

    @GET
    public WebhookViews.Page<WebhookViews.Webhook> list() {
        return new WebhookViews.Page<>(query("SELECT * FROM webhooks ORDER BY created_at DESC, id", null));
    }

    @GET
    @Path("/{id}")
    public WebhookViews.Webhook get(@PathParam("id") String id) {
        return find(Json.uuid(id, "Webhook"));
    }

    /** Deletes the webhook and its deliveries: events not yet delivered are dropped. */
    @DELETE
    @Path("/{id}")
    public WebhookViews.Webhook delete(@PathParam("id") String id) {
        UUID webhookId = Json.uuid(id, "Webhook");
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM webhooks WHERE id = ? RETURNING *")) {
                ps.setObject(1, webhookId);
                WebhookViews.Webhook deleted;
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("Webhook " + id + " not found");
                    }
                    deleted = webhook(rs);
                }
                audit.record(c, "webhook.delete", id, Map.of("url", deleted.url()));
                c.commit();
                return deleted;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("deleting a webhook failed", e);
        }
    }

    /**
     * Queues a signed {@code webhook.test} event for this webhook alone, delivered (and retried)
     * like any other: 202 with its event id, whose delivery shows in the webhook's deliveries.
     */
    @POST
    @Path("/{id}/test")
    @Consumes(MediaType.WILDCARD)
    public RestResponse<WebhookViews.TestEvent> test(@PathParam("id") String id) {
        UUID webhookId = Json.uuid(id, "Webhook");
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            // Held until commit, so a delete at the same moment waits for the event or removes it with the webhook.
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM webhooks WHERE id = ? FOR SHARE")) {
                ps.setObject(1, webhookId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.notFound("Webhook " + id + " not found");
                    }
                }
                String eventId = outbox.emitTest(c, webhookId);
                audit.record(c, "webhook.test", id, Map.of("event_id", eventId));
                c.commit();
                return RestResponse.status(RestResponse.Status.ACCEPTED,
                        new WebhookViews.TestEvent(webhookId, eventId, Outbox.WEBHOOK_TEST));
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("queueing a webhook test event failed", e);
        }
    }

    /** The webhook's deliveries, newest first, each with its attempts. */
    @GET
    @Path("/{id}/deliveries")
    public WebhookViews.Page<WebhookViews.Delivery> deliveries(@PathParam("id") String id,
                                                               @QueryParam("limit") Integer limit) {
        int size = limit == null ? 50 : limit;
        if (size < 1 || size > MAX_PAGE) {
            throw ApiException.invalidRequest("limit: must be between 1 and " + MAX_PAGE);
        }
        UUID webhookId = find(Json.uuid(id, "Webhook")).id();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT d.id, d.event_id, d.event_type, d.state, d.created_at, d.next_attempt_at,
                       a.attempted_at, a.http_status, a.error, a.duration_ms
                FROM (SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?) d
                LEFT JOIN webhook_attempts a ON a.delivery_id = d.id
                ORDER BY d.id DESC, a.id
                """)) {
            ps.setObject(1, webhookId);
            ps.setInt(2, size);
            Map<Long, WebhookViews.Delivery> deliveries = new LinkedHashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String state = rs.getString("state");
                    WebhookViews.Delivery d = deliveries.computeIfAbsent(rs.getLong("id"), k -> delivery(rs, state));
                    Timestamp attempted = rs.getTimestamp("attempted_at");
                    if (attempted != null) {
                        int status = rs.getInt("http_status");
                        d.attempts().add(new WebhookViews.Attempt(attempted.toInstant(), rs.wasNull() ? null : status,
                                rs.getString("error"), rs.getInt("duration_ms")));
                    }
                }
            }
            return new WebhookViews.Page<>(List.copyOf(deliveries.values()));
        } catch (SQLException e) {
            throw new LedgerException("listing webhook deliveries failed", e);
        }
    }

    private static WebhookViews.Delivery delivery(ResultSet rs, String state) {
        try {
            return new WebhookViews.Delivery(rs.getLong("id"), rs.getString("event_id"), rs.getString("event_type"), state,
                    rs.getTimestamp("created_at").toInstant(),
                    state.equals("pending") ? rs.getTimestamp("next_attempt_at").toInstant() : null, new ArrayList<>());
        } catch (SQLException e) {
            throw new LedgerException("reading a webhook delivery failed", e);
        }
    }

    private WebhookViews.Webhook find(UUID id) {
        List<WebhookViews.Webhook> found = query("SELECT * FROM webhooks WHERE id = ?", id);
        if (found.isEmpty()) {
            throw ApiException.notFound("Webhook " + id + " not found");
        }
        return found.getFirst();
    }

    private List<WebhookViews.Webhook> query(String sql, UUID id) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            if (id != null) {
                ps.setObject(1, id);
            }
            List<WebhookViews.Webhook> list = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    list.add(webhook(rs));
                }
            }
            return list;
        } catch (SQLException e) {
            throw new LedgerException("reading webhooks failed", e);
        }
    }

    private static WebhookViews.Webhook webhook(ResultSet rs) throws SQLException {
        return new WebhookViews.Webhook(rs.getObject("id", UUID.class), rs.getString("url"),
                Arrays.asList((String[]) rs.getArray("events").getArray()), rs.getTimestamp("created_at").toInstant());
    }
}
