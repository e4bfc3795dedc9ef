package dev.tollgate.upstream.pool;

import dev.tollgate.api.ApiException;
import io.quarkus.logging.Log;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One call's way through its route: the next upstream to try, and what each answer means. A call
 * moves on only while nothing has reached its client and the attempt provably did not run the
 * model (no connection made, or 429/529/503/500/502, or the upstream's own credential refused), at
 * most {@code tollgate.upstream.max-attempts} times and before the call's deadline. Used by one
 * call on one thread at a time.
 */
public final class UpstreamAttempts {

    /** What a call does with an upstream's error answer. */
    public enum Rejection {
        /** The upstream could not take the call now: another may; if none, the answer is passed on. */
        RETRY,
        /** The upstream's credential or account (out of credit, spend cap) is at fault: another may; never shown. */
        CREDENTIAL,
        /** The request itself is at fault (400, 404, 413, ...): passed on as it is. */
        FINAL
    }

    /**
     * Answers that are the operator's upstream account's fault, not the request's (digest §4.1): out
     * of credit (400), a spend limit the operator set (400), the tier's monthly cap (429 without
     * retry-after).
     */
    private static final List<String> ACCOUNT_EXHAUSTED = List.of("credit balance is too low",
            "You have reached your specified API usage limits", "enforced_spend_limit_reached");

    private final UpstreamPool pool;
    private final List<Upstream> order;
    private final long deadlineNanos;
    private int next;
    private int attempts;
    private Upstream current;
    private UpstreamHealth currentHealth;
    private long attemptStart;

    UpstreamAttempts(UpstreamPool pool, List<Upstream> order, long deadlineNanos) {
        this.pool = pool;
        this.order = order;
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * Moves to the next upstream that takes the call, skipping those cooling down, full (their
     * max_concurrent on this instance) or with a probe out; false when none is left, the attempts
     * are used up or the deadline has passed.
     *
     * <p>When every candidate is cooling down before the first attempt, the call goes to the one
     * back soonest instead of being refused here: a cooldown is this instance's estimate, the
     * upstream's answer is the fact (and a pool of one behaves as a single upstream always did).
     */
    public boolean advance() {
        release();
        if (attempts >= pool.config.maxAttempts() || System.nanoTime() - deadlineNanos > 0) {
            return false;
        }
        long now = System.currentTimeMillis();
        while (next < order.size()) {
            Upstream candidate = order.get(next++);
            if (claim(candidate, now, false)) {
                return true;
            }
        }
        if (attempts == 0) {
            List<Upstream> bySoonest = new java.util.ArrayList<>(order);
            bySoonest.sort(java.util.Comparator.comparingLong(u -> pool.health(u).coolingUntilMillis()));
            for (Upstream candidate : bySoonest) {
                if (claim(candidate, now, true)) {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean claim(Upstream candidate, long now, boolean evenCooling) {
        UpstreamHealth h = pool.health(candidate);
        if (!h.tryAcquire(now, candidate.maxConcurrent(), evenCooling)) {
            return false;
        }
        current = candidate;
        currentHealth = h;
        attempts++;
        attemptStart = System.nanoTime();
        pool.metrics.attempt(candidate);
        return true;
    }

    /** The upstream of the current attempt; null before the first. */
    public Upstream current() {
        return current;
    }

    public int attempts() {
        return attempts;
    }

    /** The current upstream answered 200. */
    public void answered() {
        currentHealth.answered(System.currentTimeMillis());
        pool.metrics.answer(current, "200", System.nanoTime() - attemptStart);
    }

    /** No connection could be made (refused, reset, TLS, connect timeout): nothing was sent. */
    public void connectFailed(Throwable failure) {
        Log.warnf("Upstream %s could not be reached: %s", current.name(), failure.toString());
        if (currentHealth.connectionFailed(System.currentTimeMillis(), pool.config.cooldown(), pool.config.maxCooldown())) {
            pool.cooldowns.started(current, currentHealth.coolingUntil(System.currentTimeMillis()), "unreachable");
        }
        pool.metrics.answer(current, "connect_failed", -1);
    }

    /** The request was sent and then the exchange failed (timeout, reset): it may have run, so no retry. */
    public void failedAfterSend() {
        currentHealth.failed(System.currentTimeMillis());
        pool.metrics.answer(current, "failed_after_send", System.nanoTime() - attemptStart);
    }

    /** An error answer of the current upstream, its body read in full: recorded, and what the call does with it. */
    public Rejection rejected(int status, MultiMap headers, Buffer body) {
        long now = System.currentTimeMillis();
        pool.metrics.answer(current, Integer.toString(status), System.nanoTime() - attemptStart);
        if (status == 401 || status == 402 || status == 403 || accountExhausted(status, body)) {
            Log.errorf("Upstream %s refused the call for its credential or account (%d): it sits out %s; fix its"
                    + " credential or its account", current.name(), status, pool.config.credentialCooldown());
            if (currentHealth.credentialRefused(now, pool.config.credentialCooldown())) {
                pool.cooldowns.started(current, currentHealth.coolingUntil(now), "credential_refused");
            }
            return Rejection.CREDENTIAL;
        }
        switch (status) {
            case 429, 529, 503 -> {
                if (currentHealth.throttled(now, retryAfter(headers.get("retry-after")), pool.config.cooldown(),
                        pool.config.maxCooldown())) {
                    pool.cooldowns.started(current, currentHealth.coolingUntil(now), status == 429 ? "rate_limited"
                            : status == 529 ? "overloaded" : "unavailable");
                }
                return Rejection.RETRY;
            }
            case 500, 502 -> {
                currentHealth.failed(now);
                return Rejection.RETRY;
            }
            default -> {
                currentHealth.answered(now); // alive and well: the request was at fault
                return Rejection.FINAL;
            }
        }
    }

    private static boolean accountExhausted(int status, Buffer body) {
        if ((status != 400 && status != 429) || body == null) {
            return false;
        }
        String text = body.toString(StandardCharsets.UTF_8);
        return ACCOUNT_EXHAUSTED.stream().anyMatch(text::contains);
    }

    /** Frees the current attempt's slot; once when the call ends, and before each next attempt. */
    public void release() {
        if (currentHealth != null) {
            currentHealth.release();
            currentHealth = null;
        }
    }

    /** Seconds until the first of this call's upstreams stops cooling down here; null when none is. */
    public Long soonestRetryAfterSeconds() {
        long now = System.currentTimeMillis();
        Instant soonest = null;
        for (Upstream u : order) {
            Instant until = pool.health(u).coolingUntil(now);
            if (until != null && (soonest == null || until.isBefore(soonest))) {
                soonest = until;
            }
        }
        return soonest == null ? null : Math.max(1, (soonest.toEpochMilli() - now + 999) / 1000);
    }

    /** The error of a call that no upstream could take before any was tried: none serves it, or all are full. */
    public ApiException unavailable() {
        if (order.isEmpty()) {
            return ApiException.upstreamUnavailable("No upstream is configured for this model; the operator must add one");
        }
        ApiException busy = new ApiException(529, "overloaded_error",
                "Every upstream is busy (at its concurrency limit); retry shortly");
        Long retryAfter = soonestRetryAfterSeconds();
        return retryAfter == null ? busy : busy.header("retry-after", retryAfter.toString());
    }

    private static Duration retryAfter(String header) {
        if (header == null) {
            return null;
        }
        try {
            double seconds = Double.parseDouble(header.trim()); // seconds, fractions allowed (digest §4.4)
            return seconds > 0 && seconds < 86_400 ? Duration.ofMillis((long) Math.ceil(seconds * 1000)) : null;
        } catch (NumberFormatException e) {
            return null; // an HTTP date: the doubling backoff applies
        }
    }
}
