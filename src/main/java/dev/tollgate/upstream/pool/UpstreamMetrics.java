package dev.tollgate.upstream.pool;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.inject.Singleton;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus metrics per upstream, labelled by its name (chosen by the operator, never a
 * credential): attempts, answers by status ({@code connect_failed} when no connection was made),
 * latency to the response head, and whether it is cooling down on this instance.
 */
@Singleton
public class UpstreamMetrics {

    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> latencies = new ConcurrentHashMap<>();
    private final Map<String, Boolean> gauges = new ConcurrentHashMap<>();

    public UpstreamMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void attempt(Upstream upstream) {
        counters.computeIfAbsent(upstream.name(), name -> Counter.builder("tollgate.upstreams.attempts")
                .description("Calls sent to an upstream, failovers included").tag("upstream", name)
                .register(registry)).increment();
    }

    void answer(Upstream upstream, String status, long nanos) {
        counters.computeIfAbsent(upstream.name() + '\u0000' + status, k -> Counter.builder("tollgate.upstreams.answers")
                .description("Upstream answers by HTTP status").tag("upstream", upstream.name()).tag("status", status)
                .register(registry)).increment();
        if (nanos >= 0) {
            latencies.computeIfAbsent(upstream.name(), name -> Timer.builder("tollgate.upstreams.latency")
                    .description("Time to an upstream's response head").tag("upstream", name)
                    .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Registers the cooling-down gauge of an upstream name once; it reads whichever upstream holds
     * the name now (a name deleted and used again labels the new one).
     */
    <T> void watch(String name, T pool, ToDoubleFunction<T> coolingDown) {
        gauges.computeIfAbsent(name, n -> {
            registry.gauge("tollgate.upstreams.cooling.down", io.micrometer.core.instrument.Tags.of("upstream", n),
                    pool, coolingDown);
            return Boolean.TRUE;
        });
    }
}
