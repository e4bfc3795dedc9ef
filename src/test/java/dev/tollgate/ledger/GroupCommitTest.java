package dev.tollgate.ledger;

import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The batching itself, with a writer whose timing the test controls. */
class GroupCommitTest {

    @Test
    void whatQueuesWhileABatchIsWrittenBecomesTheNextBatch() throws Exception {
        CountDownLatch firstBatchStarted = new CountDownLatch(1);
        CountDownLatch releaseFirstBatch = new CountDownLatch(1);
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, false, (items, recheck) -> {
            batches.add(List.copyOf(items));
            firstBatchStarted.countDown();
            await(releaseFirstBatch);
            return items.stream().map(i -> i * 10).toList();
        });
        try {
            CompletableFuture<Integer> first = commit.submit(0);
            assertTrue(firstBatchStarted.await(5, TimeUnit.SECONDS));
            List<CompletableFuture<Integer>> queued = new ArrayList<>();
            for (int i = 1; i <= 20; i++) {
                queued.add(commit.submit(i));
            }
            releaseFirstBatch.countDown();
            assertEquals(0, first.get(5, TimeUnit.SECONDS));
            for (int i = 1; i <= 20; i++) {
                assertEquals(i * 10, queued.get(i - 1).get(5, TimeUnit.SECONDS), "each caller gets its own result");
            }
            assertEquals(List.of(List.of(0), java.util.stream.IntStream.rangeClosed(1, 20).boxed().toList()), batches);
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void batchesNeverExceedTheirMaximum() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 4, Duration.ZERO, false, (items, recheck) -> {
            sizes.add(items.size());
            await(release);
            return items;
        });
        try {
            List<CompletableFuture<Integer>> all = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                all.add(commit.submit(i));
            }
            release.countDown();
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
            assertEquals(10, sizes.stream().mapToInt(Integer::intValue).sum());
            assertTrue(sizes.stream().allMatch(n -> n <= 4), sizes.toString());
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void aBadItemFailsOnlyItsOwnCall() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, false, (items, recheck) -> {
            await(release);
            if (items.contains(13)) {
                throw new SQLException("check constraint violated", "23514");
            }
            return items;
        });
        try {
            CompletableFuture<Integer> blocker = commit.submit(0);
            List<CompletableFuture<Integer>> batch = new ArrayList<>();
            for (int i = 10; i < 16; i++) {
                batch.add(commit.submit(i));
            }
            release.countDown();
            blocker.get(5, TimeUnit.SECONDS);
            for (int i = 10; i < 16; i++) {
                CompletableFuture<Integer> result = batch.get(i - 10);
                if (i == 13) {
                    CompletionException failure = assertThrows(CompletionException.class, result::join);
                    assertInstanceOf(SQLException.class, failure.getCause());
                } else {
                    assertEquals(i, result.get(5, TimeUnit.SECONDS));
                }
            }
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void aDeadlockedBatchIsRetriedWhole() throws Exception {
        List<List<Integer>> attempts = new CopyOnWriteArrayList<>();
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, false, (items, recheck) -> {
            attempts.add(List.copyOf(items));
            if (attempts.size() == 1) {
                throw new SQLException("deadlock detected", "40P01");
            }
            return items;
        });
        try {
            assertEquals(7, commit.submit(7).get(5, TimeUnit.SECONDS));
            assertEquals(List.of(List.of(7), List.of(7)), attempts);
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void aStoppedWriterFinishesWhatWasQueuedAndRefusesMore() throws Exception {
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, false, (items, recheck) -> items);
        CompletableFuture<Integer> queued = commit.submit(1);
        commit.stop(5000);
        assertEquals(1, queued.get(1, TimeUnit.SECONDS));
        CompletionException refused = assertThrows(CompletionException.class, () -> commit.submit(2).join());
        assertInstanceOf(LedgerException.class, refused.getCause());
    }

    @Test
    void withALingerCallsArrivingMomentsApartShareOneBatch() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        GroupCommit<Integer, Integer> commit = recording(batches, 100, Duration.ofMillis(500));
        try {
            CompletableFuture<Integer> first = commit.submit(1);
            Thread.sleep(50); // without a linger, 1 would be written alone by now
            CompletableFuture<Integer> second = commit.submit(2);
            assertEquals(1, first.get(5, TimeUnit.SECONDS));
            assertEquals(2, second.get(5, TimeUnit.SECONDS));
            assertEquals(List.of(List.of(1, 2)), batches);
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void aFullBatchDoesNotWaitOutTheLinger() throws Exception {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        GroupCommit<Integer, Integer> commit = recording(batches, 4, Duration.ofSeconds(30));
        try {
            List<CompletableFuture<Integer>> all = new ArrayList<>();
            all.add(commit.submit(0));
            Thread.sleep(100); // the writer has taken 0 and lingers
            for (int i = 1; i < 4; i++) {
                all.add(commit.submit(i));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
            assertEquals(List.of(List.of(0, 1, 2, 3)), batches);
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void stoppingDoesNotWaitOutTheLinger() throws Exception {
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ofSeconds(30), false, (items, recheck) -> items);
        CompletableFuture<Integer> queued = commit.submit(1);
        Thread.sleep(100); // the writer has taken 1 and lingers
        long started = System.nanoTime();
        commit.stop(10_000);
        assertEquals(1, queued.get(1, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10),
                "stop waited its whole timeout: the writer slept through it");
    }

    @Test
    void aWriterThatMustNotLoseItemsRetriesThroughAnOutageInOrderAndRechecks() throws Exception {
        List<String> attempts = new CopyOnWriteArrayList<>();
        AtomicInteger outage = new AtomicInteger(4);
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, true, (items, recheck) -> {
            attempts.add(items + (recheck ? " recheck" : ""));
            if (outage.getAndDecrement() > 0) {
                throw new SQLException("Connection to 127.0.0.1:5432 refused", "08001");
            }
            return items;
        });
        try {
            CompletableFuture<Integer> first = commit.submit(1);
            Thread.sleep(100); // 1 is being retried; 2 queues behind it
            CompletableFuture<Integer> second = commit.submit(2);
            assertEquals(1, first.get(10, TimeUnit.SECONDS));
            assertEquals(2, second.get(10, TimeUnit.SECONDS));
            assertEquals("[1]", attempts.get(0), "a first attempt does not recheck");
            assertTrue(attempts.subList(1, 5).stream().allMatch(a -> a.equals("[1] recheck")), attempts::toString);
            assertEquals("[2]", attempts.get(5), "later items wait for the earlier ones: " + attempts);
            assertEquals(0, commit.backlog());
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void anItemsOwnFaultIsNotRetriedForeverEvenByAWriterThatMustNotLoseItems() throws Exception {
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, true, (items, recheck) -> {
            throw new SQLException("duplicate key value violates unique constraint", "23505");
        });
        try {
            ExecutionException failed = assertThrows(ExecutionException.class, () -> commit.submit(1).get(5, TimeUnit.SECONDS));
            assertInstanceOf(SQLException.class, failed.getCause());
        } finally {
            commit.stop(1000);
        }
    }

    @Test
    void anOrdinaryWriterFailsItsItemsWhenTheDatabaseIsUnreachable() throws Exception {
        GroupCommit<Integer, Integer> commit = new GroupCommit<>("test", 100, Duration.ZERO, false, (items, recheck) -> {
            throw new SQLException("Connection refused", "08001");
        });
        try {
            assertThrows(ExecutionException.class, () -> commit.submit(1).get(5, TimeUnit.SECONDS));
        } finally {
            commit.stop(1000);
        }
    }

    /** A lingering writer that answers each item with itself and records every batch it writes. */
    private static GroupCommit<Integer, Integer> recording(List<List<Integer>> batches, int maxBatch, Duration linger) {
        return new GroupCommit<>("test", maxBatch, linger, false, (items, recheck) -> {
            batches.add(List.copyOf(items));
            return items;
        });
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(5, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test never released the batch");
            }
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
