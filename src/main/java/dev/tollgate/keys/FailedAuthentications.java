package dev.tollgate.keys;

import dev.tollgate.api.ApiException;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Failed authentications per client address, in fixed windows: after {@code limit} failures in
 * one window, the address gets 429 (with retry-after) for the rest of it instead of another key
 * lookup, which is what makes guessing keys, or flooding the database with random ones, slow.
 * Per instance and in memory. Keys already known to this instance still work from a refused
 * address (they cost nothing); only lookups are refused. Bounded like {@link UnknownKeys}. The
 * console's sign-in uses one of its own for guesses of the admin token.
 */
public final class FailedAuthentications {

    private static final int MAX_ADDRESSES = 100_000;

    /** Failures of one address since {@code start} (System.nanoTime()). */
    private record Window(long start, int failures) {
    }

    private final Map<String, Window> windows = new ConcurrentHashMap<>();
    private final int limit;
    private final long windowNanos;
    private final LongAdder refused = new LongAdder();

    public FailedAuthentications(int limit, long windowNanos) {
        this.limit = limit;
        this.windowNanos = windowNanos;
    }

    public void record(String address) {
        if (address == null) {
            return;
        }
        long now = System.nanoTime();
        if (windows.size() >= MAX_ADDRESSES && !windows.containsKey(address)) {
            windows.values().removeIf(w -> now - w.start() >= windowNanos);
            if (windows.size() >= MAX_ADDRESSES) {
                windows.clear();
            }
        }
        windows.compute(address, (a, w) -> w == null || now - w.start() >= windowNanos
                ? new Window(now, 1) : new Window(w.start(), w.failures() + 1));
    }

    /** @throws ApiException 429 rate_limit_error while the address has used up its failures */
    public void refuseIfBlocked(String address) {
        if (address == null || windows.isEmpty()) {
            return;
        }
        Window w = windows.get(address);
        if (w == null || w.failures() < limit) {
            return;
        }
        long left = w.start() + windowNanos - System.nanoTime();
        if (left <= 0) {
            return;
        }
        refused.increment();
        long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(left + TimeUnit.SECONDS.toNanos(1) - 1));
        throw new ApiException(429, "rate_limit_error", "Too many requests with invalid API keys from this address."
                + " Retry after " + seconds + " s.").header("retry-after", Long.toString(seconds));
    }

    /** How many requests were refused so far (a metric). */
    long refused() {
        return refused.sum();
    }
}
