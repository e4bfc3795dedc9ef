package dev.tollgate.ledger;

import io.quarkus.logging.Log;
import org.jboss.logging.MDC;
import org.postgresql.util.PSQLState;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Application-level group commit: one thread writes whatever queued up while its previous batch
 * was in the database, as one batch (one statement, one transaction). Under load the batches grow
 * by themselves, so one round trip, one commit and one lock of a hot account row serve many calls.
 * With no linger, a batch at low load is one item and costs what a direct call would. With a linger
 * (for writes nobody waits on), the writer first gathers calls for that long unless a full batch is
 * already queued, so low and moderate loads are batched too.
 *
 * <p>A batch that fails with a deadlock or serialization error is retried; any other failure of a
 * batch of several items is retried item by item, so one bad item fails only its own call. Every
 * attempt after the first is told so ({@code recheck}): a failure can leave its outcome unknown
 * (the connection lost after the commit), so a writer must then find what already landed rather
 * than write it again. A writer that must never lose an item ({@code untilWritten}: settlements)
 * retries a batch that failed for a transient reason (the database unreachable, restarting, out of
 * connections) with a growing pause, for as long as it takes, keeping the batches in order.
 */
final class GroupCommit<T, R> {

    /** Writes a batch; returns one result per item, in the items' order. */
    interface Writer<T, R> {
        /** {@code recheck}: an earlier attempt at these items failed, and may have been written all the same. */
        List<R> write(List<T> items, boolean recheck) throws SQLException;
    }

    private record Pending<T, R>(T item, CompletableFuture<R> result, long queuedAt) {
    }

    private static final int RETRIES = 3;
    private static final long FIRST_PAUSE_MILLIS = 50;
    private static final long MAX_PAUSE_MILLIS = 5_000;

    private final String name;
    private final int maxBatch;
    private final long lingerNanos;
    private final Writer<T, R> writer;
    private final boolean untilWritten;
    private final LinkedBlockingQueue<Pending<T, R>> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;
    /** Shutdown stopped waiting for the writer: items that cannot be written now fail at once. */
    private volatile boolean abandoned;
    /** When the oldest item of the batch being written was queued; 0 while none is being written. */
    private volatile long writingSince;
    private volatile int inBatch;

    GroupCommit(String name, int maxBatch, Duration linger, boolean untilWritten, Writer<T, R> writer) {
        this.name = name;
        this.maxBatch = maxBatch;
        this.lingerNanos = linger.toNanos();
        this.untilWritten = untilWritten;
        this.writer = writer;
        this.thread = Thread.ofPlatform().daemon().name("tollgate-" + name).unstarted(this::run);
        thread.start();
    }

    CompletableFuture<R> submit(T item) {
        CompletableFuture<R> result = new CompletableFuture<>();
        if (stopping) {
            result.completeExceptionally(new LedgerException(name + " writer is stopped", null));
            return result;
        }
        queue.add(new Pending<>(item, result, System.nanoTime()));
        if (lingerNanos > 0 && queue.size() >= maxBatch - 1) {
            LockSupport.unpark(thread); // a full batch does not wait out the linger
        }
        return result;
    }

    /** Items waiting for a batch (not those of the batch being written). */
    int queued() {
        return queue.size();
    }

    /** Items not yet written: those waiting and those of the batch being written (or retried). */
    int backlog() {
        return queue.size() + inBatch;
    }

    /** How long the oldest item not yet written has waited; zero when there is none. */
    Duration oldestWaiting() {
        long now = System.nanoTime();
        long since = writingSince;
        Pending<T, R> head = queue.peek();
        long oldest = since != 0 ? since : head != null ? head.queuedAt() : now;
        return Duration.ofNanos(Math.max(0, now - oldest));
    }

    /** Writes what is queued, then stops; waits up to {@code millis}. */
    void stop(long millis) {
        stopping = true;
        LockSupport.unpark(thread);
        try {
            thread.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        abandoned = true;
        thread.interrupt();
    }

    private void run() {
        // The thread starts inside whichever request first needed it; it must not log as that request.
        MDC.clear();
        List<Pending<T, R>> batch = new ArrayList<>(maxBatch);
        while (!(stopping && queue.isEmpty())) {
            try {
                Pending<T, R> first = queue.poll(100, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                if (lingerNanos > 0 && queue.size() < maxBatch - 1 && !stopping) {
                    // One sleep rather than a wake-up per call: producers only append meanwhile.
                    LockSupport.parkNanos(lingerNanos);
                }
                batch.add(first);
                queue.drainTo(batch, maxBatch - 1);
                writingSince = first.queuedAt();
                inBatch = batch.size();
                write(batch, false);
            } catch (InterruptedException e) {
                if (!stopping) {
                    Log.warnf("%s writer interrupted; still running", name);
                }
            } catch (RuntimeException | Error e) {
                // Never let the writer die: fail this batch's calls, keep serving the next.
                Log.errorf(e, "%s writer failed a batch of %d", name, batch.size());
                batch.forEach(p -> p.result().completeExceptionally(e));
            } finally {
                batch.clear();
                inBatch = 0;
                writingSince = 0;
            }
        }
    }

    private void write(List<Pending<T, R>> batch, boolean recheck) {
        List<T> items = new ArrayList<>(batch.size());
        batch.forEach(p -> items.add(p.item()));
        long pause = 0;
        for (int attempt = 1; ; attempt++) {
            try {
                List<R> results = writer.write(items, recheck);
                leaveBacklog(batch);
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).result().complete(results.get(i));
                }
                if (pause > 0) {
                    Log.infof("%s batch of %d written after %d attempts", name, batch.size(), attempt);
                }
                return;
            } catch (SQLException e) {
                recheck = true;
                if (retryable(e) && attempt < RETRIES) {
                    continue;
                }
                if (untilWritten && transientFailure(e) && !abandoned) {
                    pause = Math.min(MAX_PAUSE_MILLIS, Math.max(FIRST_PAUSE_MILLIS, pause * 2));
                    Log.warnf("%s batch of %d not written (%s); retrying in %d ms", name, batch.size(), e.toString(), pause);
                    if (sleep(pause)) {
                        continue;
                    }
                }
                if (batch.size() > 1) {
                    Log.warnf("%s batch of %d failed (%s); writing its items one by one", name, batch.size(), e.toString());
                    batch.forEach(p -> write(List.of(p), true));
                    return;
                }
                Log.errorf("%s item failed for good: %s", name, e.toString());
                leaveBacklog(batch);
                batch.get(0).result().completeExceptionally(e);
                return;
            }
        }
    }

    /** Written or failed for good: out of the backlog before its callers wake up and may read it. */
    private void leaveBacklog(List<Pending<T, R>> batch) {
        inBatch = Math.max(0, inBatch - batch.size());
    }

    /** Pauses between attempts; false when interrupted (shutdown gave up waiting for the database). */
    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Failures that say nothing about the items, only about reaching the database: no connection
     * (class 08, or none to be had from the pool: no SQLState), the server shutting down or
     * restarting (57), out of resources (53), not accepting connections (55), a transaction
     * conflict (40), an I/O error (58). Anything else is the items' own fault and fails them.
     */
    static boolean transientFailure(SQLException e) {
        String state = e.getSQLState();
        if (state == null || state.length() < 2) {
            return true;
        }
        return switch (state.substring(0, 2)) {
            case "08", "40", "53", "55", "57", "58" -> true;
            default -> false;
        };
    }

    private static boolean retryable(SQLException e) {
        String state = e.getSQLState();
        return "40P01".equals(state) || PSQLState.SERIALIZATION_FAILURE.getState().equals(state);
    }
}
