package dev.tollgate.ledger;

import dev.tollgate.config.TollgateConfig;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The lease on the holds of this instance's calls in progress. A hold expires after
 * {@code tollgate.holds.ttl} unless renewed, and the reaper releases expired holds as those of a dead
 * instance; a long generation or a client that reads slowly can outlive any fixed TTL. So while a
 * call runs (and until its settlement is written), this instance renews its hold every
 * {@code tollgate.holds.renew-interval}; only holds whose instance stopped renewing them expire.
 * Reserves are renewed by their own mechanism ({@link Reserves}).
 *
 * <p>A call that somehow never settles must not be kept alive forever: a hold older than
 * {@code tollgate.holds.max-call-duration} is no longer renewed, so the reaper takes it in the end.
 */
@ApplicationScoped
public class HoldHeartbeat {

    private static final String RENEW = "SELECT tg_renew_holds(?, ?)";
    private static final int CHUNK = 10_000;

    private final AgroalDataSource dataSource;
    private final int ttlSeconds;
    private final long maxCallNanos;
    /** Hold id → when its call was admitted (System.nanoTime). */
    private final Map<UUID, Long> live = new ConcurrentHashMap<>();

    public HoldHeartbeat(AgroalDataSource dataSource, TollgateConfig config) {
        this.dataSource = dataSource;
        this.ttlSeconds = (int) config.holds().ttl().toSeconds();
        this.maxCallNanos = config.holds().maxCallDuration().toNanos();
        Duration interval = config.holds().renewInterval();
        if (interval.compareTo(config.holds().ttl().dividedBy(2)) >= 0) {
            Log.warnf("tollgate.holds.renew-interval (%s) should be well under half of tollgate.holds.ttl (%s):"
                    + " a hold may expire under a call still running", interval, config.holds().ttl());
        }
    }

    void started(UUID holdId) {
        live.put(holdId, System.nanoTime());
    }

    void ended(UUID holdId) {
        live.remove(holdId);
    }

    /** Holds this instance is renewing now. */
    public int liveHolds() {
        return live.size();
    }

    @Scheduled(every = "${tollgate.holds.renew-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void renew() {
        long now = System.nanoTime();
        List<UUID> ids = new ArrayList<>(live.size());
        live.forEach((id, since) -> {
            if (now - since < maxCallNanos) {
                ids.add(id);
            } else if (live.remove(id, since)) {
                Log.errorf("Hold %s has been open longer than tollgate.holds.max-call-duration; no longer renewed", id);
            }
        });
        for (int from = 0; from < ids.size(); from += CHUNK) {
            renew(ids.subList(from, Math.min(ids.size(), from + CHUNK)));
        }
    }

    private void renew(List<UUID> ids) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(RENEW)) {
            ps.setArray(1, c.createArrayOf("uuid", ids.toArray()));
            ps.setInt(2, ttlSeconds);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
            }
        } catch (SQLException e) {
            // The next beat tries again; the TTL is many beats long.
            Log.warnf("Renewing %d holds failed (%s)", ids.size(), e.toString());
        }
    }
}
