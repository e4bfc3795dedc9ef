package dev.tollgate.console;

import dev.tollgate.web.UsageViews;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The dashboard's numbers over every account. They are read at most once every
 * {@code tollgate.web.dashboard-max-age} (30 s) per instance (the page says when), so many operators with the page open cost the database nothing
 * more than one.
 */
@ApplicationScoped
public class Dashboard {

    private final long maxAgeNanos;
    private final UsageViews usage;
    private volatile Map<String, Object> cached;
    private volatile long readAt;

    public Dashboard(UsageViews usage, dev.tollgate.config.TollgateConfig config) {
        this.usage = usage;
        this.maxAgeNanos = config.web().dashboardMaxAge().toNanos();
    }

    public Map<String, Object> numbers() {
        Map<String, Object> c = cached;
        if (c == null || System.nanoTime() - readAt >= maxAgeNanos) {
            c = new LinkedHashMap<>();
            c.put("today", usage.totals(null, UsageViews.dayStart()));
            c.put("month", usage.totals(null, UsageViews.monthStart()));
            c.put("calls24h", usage.callsAndErrors24h());
            c.put("top", usage.topAccounts(UsageViews.monthStart(), 10));
            c.put("as_of", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            cached = c;
            readAt = System.nanoTime();
        }
        return c;
    }

    /** Forgets the numbers (tests, and after an operator's change they should see at once). */
    public void forget() {
        cached = null;
    }
}
