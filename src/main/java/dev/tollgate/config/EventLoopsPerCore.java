package dev.tollgate.config;

import org.eclipse.microprofile.config.spi.ConfigSource;

import java.util.Map;
import java.util.Set;

/**
 * One Vert.x event loop per core instead of Vert.x's default of two. Tollgate's event loops never
 * block (the database runs on virtual threads), so a second loop per core only adds hand-offs and
 * context switches between loops sharing a core: on one core, two loops cut the 4-connection
 * throughput by about a third (docs/benchmarks.md). The lowest precedence of all sources, so
 * QUARKUS_VERTX_EVENT_LOOPS_POOL_SIZE or a property still decides.
 */
public class EventLoopsPerCore implements ConfigSource {

    private static final String PROPERTY = "quarkus.vertx.event-loops-pool-size";

    @Override
    public Set<String> getPropertyNames() {
        return Set.of(PROPERTY);
    }

    @Override
    public Map<String, String> getProperties() {
        return Map.of(PROPERTY, getValue(PROPERTY));
    }

    @Override
    public String getValue(String propertyName) {
        // Read when asked, at run time: a native image must not keep its build machine's core count.
        return PROPERTY.equals(propertyName) ? Integer.toString(Runtime.getRuntime().availableProcessors()) : null;
    }

    @Override
    public String getName() {
        return "tollgate-event-loops-per-core";
    }

    @Override
    public int getOrdinal() {
        return 1;
    }
}
