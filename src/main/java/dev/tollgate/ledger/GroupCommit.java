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
 * batch of several items is retried item by item, so one bad item fails only its own call.
 */
final class GroupCommit<T, R> {

    /** Writes a batch; returns one result per item, in the items' order. */
    interface Writer<T, R> {
        List<R> write(List<T> items) throws SQLException;
    }

    private record Pending<T, R>(T item, CompletableFuture<R> result) {
    }

    private static final int RETRIES = 3;

    private final String name;
    private final int maxBatch;
    private final long lingerNanos;
    private final Writer<T, R> writer;
    private final LinkedBlockingQueue<Pending<T, R>> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopping;

    GroupCommit(String name, int maxBatch, Duration linger, Writer<T, R> writer) {
        this.name = name;
        this.maxBatch = maxBatch;
        this.lingerNanos = linger.toNanos();
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
        queue.add(new Pending<>(item, result));
        if (lingerNanos > 0 && queue.size() >= maxBatch - 1) {
            LockSupport.unpark(thread); // a full batch does not wait out the linger
        }
        return result;
    }

    /** Items waiting for a batch (not those of the batch being written). */
    int queued() {
        return queue.size();
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
                write(batch);
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
            }
        }
    }

    private void write(List<Pending<T, R>> batch) {
        List<T> items = new ArrayList<>(batch.size());
        batch.forEach(p -> items.add(p.item()));
        for (int attempt = 1; ; attempt++) {
            try {
                List<R> results = writer.write(items);
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).result().complete(results.get(i));
                }
                return;
            } catch (SQLException e) {
                if (retryable(e) && attempt < RETRIES) {
                    continue;
                }
                if (batch.size() > 1) {
                    Log.warnf("%s batch of %d failed (%s); writing its items one by one", name, batch.size(), e.toString());
                    batch.forEach(p -> write(List.of(p)));
                    return;
                }
                batch.get(0).result().completeExceptionally(e);
                return;
            }
        }
    }

    private static boolean retryable(SQLException e) {
        String state = e.getSQLState();
        return "40P01".equals(state) || PSQLState.SERIALIZATION_FAILURE.getState().equals(state);
    }
}
