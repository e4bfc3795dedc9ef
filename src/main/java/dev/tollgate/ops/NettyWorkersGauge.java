package dev.tollgate.ops;

import io.micrometer.core.instrument.config.MeterFilter;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/**
 * Drops {@code netty.eventexecutor.workers}: Quarkus registers it once per Vert.x event executor
 * group (acceptor and event loops) under one name and no tags, so only the first group's count
 * survived, misleading, and every start logged a duplicate-gauge warning. Per-thread
 * {@code netty.eventexecutor.tasks.pending} stays.
 */
@Singleton
public class NettyWorkersGauge {

    @Produces
    @Singleton
    MeterFilter dropAmbiguousWorkersGauge() {
        return MeterFilter.deny(id -> id.getName().equals("netty.eventexecutor.workers"));
    }
}
