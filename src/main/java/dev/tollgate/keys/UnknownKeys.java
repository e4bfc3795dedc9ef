package dev.tollgate.keys;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Hashes of presented keys that matched no usable key, remembered for a short time so that the
 * same wrong key costs one database lookup per TTL, not one per request. Kept apart from the
 * known keys so that a flood of random keys can never push a real key out of memory. Bounded:
 * when full, the expired entries go, and if none has expired, all of them (which only costs
 * lookups again; the failed-authentication limit bounds those per client address).
 */
final class UnknownKeys {

    private final Map<ByteBuffer, Long> expiresAt = new ConcurrentHashMap<>();
    private final long ttlNanos;
    private final int maxEntries;

    UnknownKeys(long ttlNanos, int maxEntries) {
        this.ttlNanos = ttlNanos;
        this.maxEntries = maxEntries;
    }

    boolean contains(ByteBuffer hash, long now) {
        Long until = expiresAt.get(hash);
        return until != null && now - until < 0;
    }

    void add(ByteBuffer hash, long now) {
        if (expiresAt.size() >= maxEntries) {
            expiresAt.values().removeIf(until -> now - until >= 0);
            if (expiresAt.size() >= maxEntries) {
                expiresAt.clear();
            }
        }
        expiresAt.put(hash, now + ttlNanos);
    }

    /** A key that now exists (just created or rotated to) must work at once on this instance. */
    void forget(ByteBuffer hash) {
        expiresAt.remove(hash);
    }
}
