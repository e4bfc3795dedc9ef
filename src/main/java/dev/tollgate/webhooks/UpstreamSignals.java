package dev.tollgate.webhooks;

import dev.tollgate.ledger.LedgerException;
import dev.tollgate.upstream.pool.UpstreamCooldowns;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the cooldowns this instance's pool started into upstream.cooling_down events, off the
 * request path: the pool only queues them ({@link UpstreamCooldowns}); this poller writes them to
 * the outbox each second, in one transaction per batch, and puts them back if that fails.
 * Cooldowns are per instance, so each instance announces the cooldowns it started.
 */
@ApplicationScoped
public class UpstreamSignals {

    private static final int BATCH = 500;

    private final AgroalDataSource dataSource;
    private final Outbox outbox;
    private final UpstreamCooldowns cooldowns;

    public UpstreamSignals(AgroalDataSource dataSource, Outbox outbox, UpstreamCooldowns cooldowns) {
        this.dataSource = dataSource;
        this.outbox = outbox;
        this.cooldowns = cooldowns;
    }

    @Scheduled(every = "1s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void poll() {
        try {
            announce();
        } catch (LedgerException e) {
            Log.warnf(e, "Writing upstream.cooling_down events failed; retried at the next poll");
        }
    }

    /** Writes the queued cooldown starts as events; returns how many. */
    public int announce() {
        List<UpstreamCooldowns.Started> starts = cooldowns.drain(BATCH);
        if (starts.isEmpty()) {
            return 0;
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                for (UpstreamCooldowns.Started s : starts) {
                    Map<String, Object> data = new LinkedHashMap<>();
                    data.put("upstream_id", s.upstreamId().toString());
                    data.put("upstream_name", s.upstreamName());
                    data.put("reason", s.reason());
                    data.put("since", s.at().toString());
                    data.put("until", s.until() == null ? null : s.until().toString());
                    outbox.emit(c, Outbox.UPSTREAM_COOLING_DOWN, data);
                }
                c.commit();
                return starts.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | RuntimeException e) {
            cooldowns.requeue(starts);
            throw e instanceof LedgerException l ? l : new LedgerException("writing upstream.cooling_down events failed", e);
        }
    }
}
