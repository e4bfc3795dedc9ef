package dev.tollgate.ops;

import dev.tollgate.keys.ApiKeyService;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.ledger.Money;
import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.TokenUsage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import io.vertx.core.Future;
import io.vertx.core.http.HttpClientResponse;
import jakarta.inject.Singleton;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Prometheus metrics of the metered calls and of key lookups (served at /q/metrics on the
 * management port, never the public one: they show revenue per model). Labels are only bounded,
 * non-secret values: endpoint, outcome, HTTP status, canonical model id (from the price table)
 * and token kind. Never a key, account, request id or anything a client typed freely.
 * The ledger stays the source of truth for money; these counters are for dashboards and alerts.
 */
@Singleton
public class CallMetrics {

    private static final String[] TOKEN_KINDS = {"input", "output", "cache_write_5m", "cache_write_1h", "cache_read"};

    private final MeterRegistry registry;
    private final LedgerStore ledger;
    private final Map<CallKey, Counter> counters = new ConcurrentHashMap<>();
    /** Per model, one counter per {@link #TOKEN_KINDS} entry, in that order. */
    private final Map<String, Counter[]> tokenCounters = new ConcurrentHashMap<>();
    private final Map<UpstreamKey, Timer> upstreamTimers = new ConcurrentHashMap<>();
    private final Map<String, Counter> costs = new ConcurrentHashMap<>();
    private final Map<String, Counter> upstreamCosts = new ConcurrentHashMap<>();
    private final AtomicLong openHolds = new AtomicLong();
    private final AtomicLong openHoldsNanos = new AtomicLong();

    public CallMetrics(MeterRegistry registry, LedgerStore ledger, ApiKeyService keys) {
        this.registry = registry;
        this.ledger = ledger;
        registry.gauge("tollgate.holds.open", openHolds);
        registry.gauge("tollgate.holds.open.usd", openHoldsNanos, n -> n.get() / 1e9);
        registry.gauge("tollgate.settlements.queued", ledger, LedgerStore::queuedSettlements);
        // A backlog that grows and ages means the database is not taking settlements (an outage): they
        // are retried until written, and each hold stays until its settlement lands.
        registry.gauge("tollgate.settlements.backlog", ledger, LedgerStore::settlementBacklog);
        registry.gauge("tollgate.settlements.oldest.seconds", ledger,
                l -> l.oldestUnwrittenSettlement().toMillis() / 1000.0);
        // Keys looked up in the database (not known in memory) and addresses refused for failing
        // too often: a surge of either means clients sending keys that do not exist.
        FunctionCounter.builder("tollgate.keys.lookups", keys, ApiKeyService::databaseLookups).register(registry);
        FunctionCounter.builder("tollgate.auth.refused", keys, ApiKeyService::refusedAddresses).register(registry);
    }

    /**
     * One finished call: its outcome, the tokens it was billed for and its cost. Also one log line,
     * because where nothing scrapes /q/metrics (Lambda) log metric filters are the metrics.
     */
    public void record(CallRecord call) {
        String model = call.model();
        TokenUsage usage = call.usage();
        // Built by hand: this line is written for every call, and printf-style formatting cost more
        // than the rest of the metrics together.
        Log.info(new StringBuilder(320).append("call ").append(call.requestId())
                .append(" endpoint=").append(call.endpoint()).append(" model=").append(model)
                .append(" status=").append(call.status().dbValue()).append(" http_status=").append(call.httpStatus())
                .append(" stream=").append(call.stream()).append(" input=").append(usage.input())
                .append(" output=").append(usage.output()).append(" cache_write_5m=").append(usage.cacheWrite5m())
                .append(" cache_write_1h=").append(usage.cacheWrite1h()).append(" cache_read=").append(usage.cacheRead())
                .append(" cost_usd=").append(Money.format(call.costNanos())).append(" latency_ms=")
                .append(call.latencyMs()).toString());
        counters.computeIfAbsent(new CallKey(call.endpoint(), call.status().dbValue(), call.httpStatus(), model),
                k -> registry.counter("tollgate.calls", "endpoint", k.endpoint(), "status", k.status(),
                        "http_status", Integer.toString(k.httpStatus()), "model", k.model())).increment();
        Counter[] tokens = tokenCounters.computeIfAbsent(model, this::tokenCounters);
        add(tokens[0], usage.input());
        add(tokens[1], usage.output());
        add(tokens[2], usage.cacheWrite5m());
        add(tokens[3], usage.cacheWrite1h());
        add(tokens[4], usage.cacheRead());
        if (call.costNanos() != 0) {
            costs.computeIfAbsent(model, m -> Counter.builder("tollgate.cost").baseUnit("usd")
                    .description("Cost settled, as the ledger charged it").tag("model", m).register(registry))
                    .increment(call.costNanos() / 1e9);
        }
        if (call.upstreamCostNanos() != 0) {
            upstreamCosts.computeIfAbsent(model, m -> Counter.builder("tollgate.upstream.cost").baseUnit("usd")
                    .description("The same calls at list price: what the upstreams bill").tag("model", m)
                    .register(registry))
                    .increment(call.upstreamCostNanos() / 1e9);
        }
    }

    private Counter[] tokenCounters(String model) {
        Counter[] counters = new Counter[TOKEN_KINDS.length];
        for (int i = 0; i < counters.length; i++) {
            counters[i] = registry.counter("tollgate.tokens", "model", model, "kind", TOKEN_KINDS[i]);
        }
        return counters;
    }

    private static void add(Counter counter, long count) {
        if (count > 0) {
            counter.increment(count);
        }
    }

    /** Label values of one tollgate.calls series; models come from the price table, so the set is bounded. */
    private record CallKey(String endpoint, String status, int httpStatus, String model) {
    }

    /**
     * Times an upstream request from sending to the response head (time to first byte; a stream's
     * duration is not included), labelled by upstream path and status.
     */
    public Future<HttpClientResponse> timeUpstream(String path, Future<HttpClientResponse> response) {
        long start = System.nanoTime();
        return response.andThen(ar -> upstreamTimers
                .computeIfAbsent(new UpstreamKey(path, ar.succeeded() ? ar.result().statusCode() : 0), this::upstreamTimer)
                .record(System.nanoTime() - start, TimeUnit.NANOSECONDS));
    }

    /** Status 0: the request failed without a response. The map spares each call Micrometer's builder and lookup. */
    private record UpstreamKey(String path, int status) {
    }

    private Timer upstreamTimer(UpstreamKey key) {
        return Timer.builder("tollgate.upstream.latency")
                .tag("path", key.path())
                .tag("status", key.status() == 0 ? "failed" : Integer.toString(key.status()))
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(10))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
    }

    /**
     * Open holds are a database-wide fact (every instance reports the same value: use max, not
     * sum), read on a timer so a scrape never waits for the database.
     */
    @Scheduled(every = "30s", delayed = "10s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void refreshOpenHolds() {
        try {
            long[] open = ledger.openHolds();
            openHolds.set(open[0]);
            openHoldsNanos.set(open[1]);
        } catch (RuntimeException e) {
            Log.warnf("Could not read open holds for metrics: %s", e.getMessage());
        }
    }
}
