package dev.tollgate.console;

import dev.tollgate.web.UsageViews;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The dashboard's numbers over every account. They are read at most once every
 * {@code tollgate.web.dashboard-max-age} (30 s) per instance (the page says when), so many
 * operators with the page open cost the database nothing more than one, and in the background, so
 * no page waits for those sums but the first after a start.
 */
@ApplicationScoped
public class Dashboard {

    private final long maxAgeNanos;
    private final UsageViews usage;
    private volatile Map<String, Object> cached;
    private volatile long readAt;
    private final AtomicBoolean refreshing = new AtomicBoolean();

    public Dashboard(UsageViews usage, dev.tollgate.config.TollgateConfig config) {
        this.usage = usage;
        this.maxAgeNanos = config.web().dashboardMaxAge().toNanos();
    }

    /**
     * The numbers; once they are older than the max age, the page still gets them at once while
     * one background read replaces them (only the first page after a start waits for the read).
     */
    public Map<String, Object> numbers() {
        Map<String, Object> c = cached;
        if (c == null || maxAgeNanos == 0) {
            return read();
        }
        if (System.nanoTime() - readAt >= maxAgeNanos && refreshing.compareAndSet(false, true)) {
            Thread.startVirtualThread(() -> {
                try {
                    read();
                } catch (RuntimeException e) {
                    io.quarkus.logging.Log.warn("Reading the dashboard's numbers failed", e);
                } finally {
                    refreshing.set(false);
                }
            });
        }
        return c;
    }

    private Map<String, Object> read() {
        long started = System.nanoTime();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("today", usage.totals(null, UsageViews.dayStart()));
        c.put("month", usage.totals(null, UsageViews.monthStart()));
        c.put("calls24h", usage.callsAndErrors24h());
        c.put("top", usage.topAccounts(UsageViews.monthStart(), 10));
        c.put("as_of", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        readAt = started;
        cached = c;
        return c;
    }
}
