package dev.tollgate.upstream.pool;

import java.time.Duration;
import java.time.Instant;

/**
 * This instance's view of one upstream: its cooldown, its circuit, its calls in flight and recent
 * counts. Per instance on purpose: a cooldown is learnt from the upstream's own answer within one
 * call, so each instance learns it at the cost of at most one failed attempt (retried elsewhere
 * before the client sees anything), and nothing has to be shared or cleaned up in the database.
 *
 * <p>A refused connection opens the circuit: once the cooldown passes, exactly one call probes the
 * upstream and the others keep skipping it until that probe answers.
 */
final class UpstreamHealth {

    /** Recent counts: five one-minute buckets. */
    private static final int MINUTES = 5;

    private long coolingUntilMillis;
    private int backoffSteps;
    private boolean circuitOpen;
    private boolean probing;
    private int inFlight;
    private final long[][] buckets = new long[MINUTES][3];
    private final long[] bucketMinute = new long[MINUTES];

    enum Count { CALLS, ERRORS, THROTTLED }

    /**
     * Claims one call's slot; false while cooling down (unless {@code evenCooling}), full, or its
     * circuit's single probe is out.
     */
    synchronized boolean tryAcquire(long nowMillis, Integer maxConcurrent, boolean evenCooling) {
        if ((!evenCooling && nowMillis < coolingUntilMillis) || (maxConcurrent != null && inFlight >= maxConcurrent)) {
            return false;
        }
        if (circuitOpen) {
            if (probing) {
                return false;
            }
            probing = true;
        }
        inFlight++;
        return true;
    }

    synchronized void release() {
        inFlight--;
    }

    /** It answered (a 200, or an error that is the request's fault): healthy again at once. */
    synchronized void answered(long nowMillis) {
        count(nowMillis, Count.CALLS);
        coolingUntilMillis = 0;
        backoffSteps = 0;
        circuitOpen = false;
        probing = false;
    }

    /**
     * 429/529/503: sits out retry-after, or a backoff that doubles with each repeat, capped. Each of
     * the cooling methods answers whether a cooldown started (it was not cooling down before).
     */
    synchronized boolean throttled(long nowMillis, Duration retryAfter, Duration base, Duration max) {
        count(nowMillis, Count.CALLS);
        count(nowMillis, Count.THROTTLED);
        Duration wait = retryAfter != null ? retryAfter : backoff(base, max);
        probing = false;
        return coolUntil(nowMillis, nowMillis + Math.min(wait.toMillis(), max.toMillis()));
    }

    /** The credential was refused (or its account is out of credit): a long cooldown. */
    synchronized boolean credentialRefused(long nowMillis, Duration cooldown) {
        count(nowMillis, Count.CALLS);
        count(nowMillis, Count.ERRORS);
        probing = false;
        return coolUntil(nowMillis, nowMillis + cooldown.toMillis());
    }

    /** No connection could be made: the circuit opens until a probe after the backoff gets through. */
    synchronized boolean connectionFailed(long nowMillis, Duration base, Duration max) {
        count(nowMillis, Count.CALLS);
        count(nowMillis, Count.ERRORS);
        circuitOpen = true;
        probing = false;
        return coolUntil(nowMillis, nowMillis + backoff(base, max).toMillis());
    }

    /** Any other error answer (500, 502, a refused request): counted, no cooldown. */
    synchronized void failed(long nowMillis) {
        count(nowMillis, Count.CALLS);
        count(nowMillis, Count.ERRORS);
        probing = false;
    }

    synchronized Instant coolingUntil(long nowMillis) {
        return nowMillis < coolingUntilMillis ? Instant.ofEpochMilli(coolingUntilMillis) : null;
    }

    synchronized boolean circuitOpen() {
        return circuitOpen;
    }

    synchronized int inFlight() {
        return inFlight;
    }

    /** The count over the last five minutes. */
    synchronized long recent(long nowMillis, Count what) {
        long minute = nowMillis / 60_000;
        long sum = 0;
        for (int i = 0; i < MINUTES; i++) {
            if (minute - bucketMinute[i] < MINUTES) {
                sum += buckets[i][what.ordinal()];
            }
        }
        return sum;
    }

    private void count(long nowMillis, Count what) {
        long minute = nowMillis / 60_000;
        int i = (int) (minute % MINUTES);
        if (bucketMinute[i] != minute) {
            bucketMinute[i] = minute;
            buckets[i] = new long[3];
        }
        buckets[i][what.ordinal()]++;
    }

    private Duration backoff(Duration base, Duration max) {
        Duration wait = base.multipliedBy(1L << Math.min(backoffSteps, 20));
        backoffSteps++;
        return wait.compareTo(max) > 0 ? max : wait;
    }

    /**
     * The upstream's latest answer decides, longer or shorter than what an earlier one said. True
     * when this starts a cooldown: it was not cooling down at {@code nowMillis}.
     */
    private boolean coolUntil(long nowMillis, long untilMillis) {
        boolean started = nowMillis >= coolingUntilMillis && untilMillis > nowMillis;
        coolingUntilMillis = untilMillis;
        return started;
    }

    /** When it stops cooling down (0 or the past: it is not). */
    synchronized long coolingUntilMillis() {
        return coolingUntilMillis;
    }
}
