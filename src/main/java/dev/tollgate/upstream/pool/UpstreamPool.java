package dev.tollgate.upstream.pool;

import dev.tollgate.config.TollgateConfig;
import jakarta.inject.Singleton;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Routing over the upstreams: which ones may serve a call, in which order, and what this instance
 * has learnt of each (cooldowns, circuits, calls in flight). The billing path never sees it: a
 * call asks for its route, tries the upstreams in turn, and settles as before.
 */
@Singleton
public class UpstreamPool {

    final UpstreamRegistry registry;
    final UpstreamMetrics metrics;
    final TollgateConfig.Upstream config;
    final UpstreamCooldowns cooldowns;
    private final Map<UUID, UpstreamHealth> health = new ConcurrentHashMap<>();

    public UpstreamPool(UpstreamRegistry registry, UpstreamMetrics metrics, TollgateConfig config,
                        UpstreamCooldowns cooldowns) {
        this.cooldowns = cooldowns;
        this.registry = registry;
        this.metrics = metrics;
        this.config = config.upstream();
    }

    /**
     * The route of one call of {@code modelId}: the enabled upstreams that serve it, lowest priority
     * first, then in rendezvous order of {@code stickinessKey} (metadata.user_id, else the account),
     * so the turns of a conversation reach the same upstream and its prompt cache while it is healthy.
     */
    public UpstreamAttempts route(String modelId, String stickinessKey) {
        return new UpstreamAttempts(this, Rendezvous.order(candidates(modelId), stickinessKey),
                System.nanoTime() + config.responseTimeout().toNanos());
    }

    /** What an upstream looks like from this instance right now. */
    public record State(String state, Instant until, long recentCalls, long recentErrors, long recentThrottled,
                        int inFlight) {
    }

    public State state(Upstream upstream) {
        UpstreamHealth h = health(upstream);
        long now = System.currentTimeMillis();
        Instant until = h.coolingUntil(now);
        String state = !upstream.enabled() || upstream.target() == null ? "disabled"
                : until != null || h.circuitOpen() ? "cooling_down" : "healthy";
        return new State(state, until, h.recent(now, UpstreamHealth.Count.CALLS),
                h.recent(now, UpstreamHealth.Count.ERRORS), h.recent(now, UpstreamHealth.Count.THROTTLED), h.inFlight());
    }

    List<Upstream> candidates(String modelId) {
        List<Upstream> all = registry.all();
        List<Upstream> serving = new ArrayList<>(all.size());
        for (Upstream u : all) {
            if (u.enabled() && u.target() != null && u.serves(modelId)) {
                serving.add(u);
            }
        }
        return serving;
    }

    UpstreamHealth health(Upstream upstream) {
        UpstreamHealth h = health.get(upstream.id());
        if (h == null) {
            h = health.computeIfAbsent(upstream.id(), id -> new UpstreamHealth());
            String name = upstream.name();
            metrics.watch(name, this, pool -> pool.coolingDown(name) ? 1 : 0);
        }
        return h;
    }

    /** Whether the live upstream of that name sits out on this instance now. */
    private boolean coolingDown(String name) {
        long now = System.currentTimeMillis();
        for (Upstream u : registry.all()) {
            if (u.name().equals(name)) {
                UpstreamHealth h = health.get(u.id());
                return h != null && h.coolingUntil(now) != null;
            }
        }
        return false;
    }
}
