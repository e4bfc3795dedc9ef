package dev.tollgate.upstream.pool;

import jakarta.inject.Singleton;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The cooldowns that started on this instance, queued for the upstream.cooling_down webhook event.
 * Recording one never blocks and touches no database (it happens on the event loop, mid-call): a
 * background poller drains the queue and writes the events. Bounded: past {@link #CAPACITY}
 * unwritten starts (the database unreachable for long), further ones are counted as dropped.
 */
@Singleton
public class UpstreamCooldowns {

    static final int CAPACITY = 1000;

    /** One upstream started to sit out on this instance, until {@code until}, for {@code reason}. */
    public record Started(UUID upstreamId, String upstreamName, Instant at, Instant until, String reason) {
    }

    private final ConcurrentLinkedQueue<Started> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicInteger dropped = new AtomicInteger();

    void started(Upstream upstream, Instant until, String reason) {
        if (size.incrementAndGet() > CAPACITY) {
            size.decrementAndGet();
            dropped.incrementAndGet();
            return;
        }
        queue.add(new Started(upstream.id(), upstream.name(), Instant.now(), until, reason));
    }

    /** Takes up to {@code max} queued starts, oldest first. */
    public List<Started> drain(int max) {
        List<Started> out = new ArrayList<>();
        Started s;
        while (out.size() < max && (s = queue.poll()) != null) {
            size.decrementAndGet();
            out.add(s);
        }
        return out;
    }

    /** Puts back starts whose events could not be written (they are written at the next poll). */
    public void requeue(List<Started> starts) {
        for (Started s : starts) {
            size.incrementAndGet();
            queue.add(s);
        }
    }

    /** Cooldown starts not announced because the queue was full. */
    public int dropped() {
        return dropped.get();
    }
}
