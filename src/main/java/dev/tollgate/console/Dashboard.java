package dev.tollgate.console;

import dev.tollgate.web.UsageViews;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The dashboard's numbers over every account. They are read at most once every
 * {@code tollgate.web.dashboard-max-age} (30 s) per instance (the page says when), so many
 * operators with the page open cost the database nothing more than one, and in the background, so
 * no page waits for those sums (the first read starts with the application). Totals come from the
 * roll-up of each hour across accounts; the spend of each account on the finished days of the
 * month is summed once per instance and kept, so a refresh reads only today's (and yesterday's
 * during the first hour of a day).
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
     * Reads the numbers once at start, so no operator's first view waits for them (not on Lambda,
     * where nothing runs between invocations and the start may be a snapshot).
     */
    void warm(@jakarta.enterprise.event.Observes io.quarkus.runtime.StartupEvent start) {
        if (maxAgeNanos > 0 && !dev.tollgate.ops.LambdaBufferedResponses.LAMBDA_BUILD
                && refreshing.compareAndSet(false, true)) {
            refreshInBackground();
        }
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
            refreshInBackground();
        }
        return c;
    }

    private void refreshInBackground() {
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

    /** A finished UTC day's spend by account, read once per instance: a day is final an hour after it ends. */
    private final Map<Instant, Map<UUID, long[]>> days = new ConcurrentHashMap<>();

    private Map<String, Object> read() {
        long started = System.nanoTime();
        Instant today = UsageViews.dayStart();
        Instant month = UsageViews.monthStart();
        // Late settlements (within the holds' TTL) may still add to the hours just past.
        Instant live = Instant.now().isBefore(today.plus(1, ChronoUnit.HOURS)) ? today.minus(1, ChronoUnit.DAYS) : today;
        days.keySet().removeIf(d -> d.isBefore(month));
        Map<UUID, long[]> spend = new HashMap<>(usage.accountSpend(live.isBefore(month) ? month : live,
                Instant.parse("9999-12-31T00:00:00Z")));
        for (Instant d = month; d.isBefore(live); d = d.plus(1, ChronoUnit.DAYS)) {
            Instant from = d;
            days.computeIfAbsent(d, k -> usage.accountSpend(from, from.plus(1, ChronoUnit.DAYS))).forEach((account, v) -> spend.merge(account, v.clone(),
                    (a, b) -> new long[] {a[0] + b[0], a[1] + b[1]}));
        }
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("today", usage.totals(null, today));
        c.put("month", usage.totals(null, month));
        c.put("calls24h", usage.callsAndErrors24h());
        c.put("top", usage.top(spend, 10));
        c.put("as_of", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        readAt = started;
        cached = c;
        return c;
    }
}
