package dev.tollgate.ledger;

import dev.tollgate.admin.TopupService;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.time.Duration;

/**
 * Crash recovery: a hold whose instance died before settling carries an expiry; this job releases
 * expired holds (recording their calls as abandoned) and forgets old idempotency keys. Safe on
 * many instances at once (SKIP LOCKED), and never touches a hold that was settled.
 */
@ApplicationScoped
public class HoldReaper {

    static final Duration IDEMPOTENCY_RETENTION = Duration.ofHours(24);

    private final LedgerStore ledger;
    private final TopupService topups;

    public HoldReaper(LedgerStore ledger, TopupService topups) {
        this.ledger = ledger;
        this.topups = topups;
    }

    @Scheduled(every = "${tollgate.holds.reaper-interval}", delayed = "30s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        run();
    }

    /**
     * One maintenance pass: releases expired holds and forgets old idempotency keys. Also called
     * by POST /admin/v1/maintenance/reap, because on Lambda no timer runs between invocations.
     *
     * @return how many holds were released
     */
    public int run() {
        int released = reap();
        if (released > 0) {
            Log.warnf("Released %d expired holds (their calls were never settled)", released);
        }
        topups.expireKeys(IDEMPOTENCY_RETENTION);
        return released;
    }

    /** Releases every expired hold, in batches; returns how many. */
    public int reap() {
        int total = 0;
        int batch;
        do {
            batch = ledger.reapExpired(500);
            total += batch;
        } while (batch == 500);
        return total;
    }
}
