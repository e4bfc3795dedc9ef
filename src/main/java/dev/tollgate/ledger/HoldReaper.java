package dev.tollgate.ledger;

import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Crash recovery: a hold whose instance died before settling carries an expiry; this job releases
 * expired holds (recording their calls as abandoned). Safe on many instances at once (SKIP
 * LOCKED), and never touches a hold that was settled.
 */
@ApplicationScoped
public class HoldReaper {

    private final LedgerStore ledger;

    public HoldReaper(LedgerStore ledger) {
        this.ledger = ledger;
    }

    @Scheduled(every = "${tollgate.holds.reaper-interval}", delayed = "30s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        run();
    }

    /**
     * One pass, logged when it released anything. Also called by POST /admin/v1/maintenance/reap,
     * because on Lambda no timer runs between invocations.
     *
     * @return how many holds were released
     */
    public int run() {
        int released = reap();
        if (released > 0) {
            Log.warnf("Released %d expired holds (their calls were never settled)", released);
        }
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
