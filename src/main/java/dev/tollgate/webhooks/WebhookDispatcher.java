package dev.tollgate.webhooks;

import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Delivers the outbox, at least once. Every second each instance claims due deliveries with
 * FOR UPDATE SKIP LOCKED, so instances never take the same row, and leases them for
 * {@link #LEASE}: the claim commits before any HTTP call (no transaction stays open while a
 * receiver answers), and a delivery whose instance died mid-attempt is due again when its lease
 * ends. A 2xx answer delivers it; anything else (another status, a redirect, a timeout, no
 * connection) is retried after 5 s × 3^(attempts − 1), for a day after the event, with one last
 * attempt at the day mark; after that it is failed.
 */
@ApplicationScoped
public class WebhookDispatcher {

    static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(10);
    static final Duration LEASE = Duration.ofSeconds(60);
    private static final int BATCH = 100;
    private static final int MAX_ERROR_LENGTH = 300;

    private final AgroalDataSource dataSource;
    private final ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(ATTEMPT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER).executor(senders).build();

    public WebhookDispatcher(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    @PreDestroy
    void stop() {
        senders.shutdownNow();
    }

    @Scheduled(every = "1s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        deliverDue();
    }

    private record Claimed(long id, String eventId, String payload, String url, String secret) {
    }

    private record Outcome(Integer status, String error, int durationMs) {
        boolean delivered() {
            return status != null && status >= 200 && status < 300;
        }
    }

    /** Attempts every delivery that is due, in batches; returns how many attempts were made. */
    public int deliverDue() {
        int attempts = 0;
        List<Claimed> batch;
        do {
            batch = claim();
            List<Future<Outcome>> outcomes = new ArrayList<>(batch.size());
            for (Claimed d : batch) {
                outcomes.add(senders.submit(() -> send(d)));
            }
            for (int i = 0; i < batch.size(); i++) {
                record(batch.get(i), await(outcomes.get(i)));
            }
            attempts += batch.size();
        } while (batch.size() == BATCH);
        return attempts;
    }

    private List<Claimed> claim() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => ?)
                FROM webhooks w
                WHERE d.id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= now()
                               ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
                  AND w.id = d.webhook_id
                RETURNING d.id, d.event_id, d.payload, w.url, w.secret
                """)) {
            ps.setLong(1, LEASE.toSeconds());
            ps.setInt(2, BATCH);
            List<Claimed> claimed = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    claimed.add(new Claimed(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5)));
                }
            }
            return claimed;
        } catch (SQLException e) {
            throw new LedgerException("claiming webhook deliveries failed", e);
        }
    }

    private Outcome send(Claimed d) {
        long started = System.nanoTime();
        long timestamp = System.currentTimeMillis() / 1000;
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(d.url())).timeout(ATTEMPT_TIMEOUT)
                    .header("content-type", "application/json")
                    .header("user-agent", "Tollgate-Webhooks")
                    .header("webhook-id", d.eventId())
                    .header("webhook-timestamp", String.valueOf(timestamp))
                    .header("webhook-signature", WebhookSignature.sign(d.secret(), d.eventId(), timestamp, d.payload()))
                    .POST(HttpRequest.BodyPublishers.ofString(d.payload())).build();
            int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            return new Outcome(status, null, elapsedMs(started));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(null, "interrupted (instance shutting down)", elapsedMs(started));
        } catch (Exception e) {
            String error = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            return new Outcome(null, error.length() > MAX_ERROR_LENGTH ? error.substring(0, MAX_ERROR_LENGTH) : error,
                    elapsedMs(started));
        }
    }

    private static Outcome await(Future<Outcome> outcome) {
        try {
            return outcome.get();
        } catch (Exception e) {
            return new Outcome(null, "not attempted: " + e, 0);
        }
    }

    /** The attempt, and the delivery's next state: delivered, due again after its backoff, or failed after a day. */
    private void record(Claimed d, Outcome outcome) {
        if (!outcome.delivered()) {
            Log.debugf("Webhook delivery %d to %s failed: %s", d.id(), d.url(),
                    outcome.status() != null ? "HTTP " + outcome.status() : outcome.error());
        }
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                WITH attempt AS (
                    INSERT INTO webhook_attempts (delivery_id, http_status, error, duration_ms)
                    SELECT id, ?, ?, ? FROM webhook_deliveries WHERE id = ?
                )
                UPDATE webhook_deliveries SET
                    state = CASE WHEN ? THEN 'delivered' WHEN now() >= created_at + interval '1 day' THEN 'failed'
                                 ELSE 'pending' END,
                    next_attempt_at = least(now() + make_interval(secs => 5 * power(3, least(attempts, 12) - 1)),
                                            created_at + interval '1 day')
                WHERE id = ?
                """)) {
            ps.setObject(1, outcome.status(), java.sql.Types.INTEGER);
            ps.setString(2, outcome.error());
            ps.setInt(3, outcome.durationMs());
            ps.setLong(4, d.id());
            ps.setBoolean(5, outcome.delivered());
            ps.setLong(6, d.id());
            ps.executeUpdate();
        } catch (SQLException e) {
            // The lease runs out and the delivery is attempted again: at least once, never lost.
            Log.warnf(e, "Recording webhook delivery %d failed", d.id());
        }
    }

    private static int elapsedMs(long started) {
        return (int) ((System.nanoTime() - started) / 1_000_000);
    }
}
