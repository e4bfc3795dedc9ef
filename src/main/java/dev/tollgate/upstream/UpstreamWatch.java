package dev.tollgate.upstream;

import io.vertx.core.Vertx;

import java.time.Duration;

/**
 * Fires once when an upstream exchange has made no progress for a whole period. Vert.x's request
 * timeout ends when the response head arrives, so without this a stream gone silent, or a JSON
 * body stalled after its head, would hold the call (and its hold) open until the connection dies.
 *
 * <p>Progress is a timestamp, not a re-armed timer: a stream of thousands of chunks costs one
 * timer per period. A watch nobody reports progress to is a deadline for the whole exchange. Used
 * on the call's event loop only.
 */
public final class UpstreamWatch {

    private final Vertx vertx;
    private final long periodNanos;
    private final Runnable onSilence;
    private long lastProgress = System.nanoTime();
    private long timerId = -1;
    private boolean suspended;
    private boolean stopped;

    private UpstreamWatch(Vertx vertx, Duration period, Runnable onSilence) {
        this.vertx = vertx;
        this.periodNanos = period.toNanos();
        this.onSilence = onSilence;
    }

    /** Starts watching now; {@code onSilence} runs on the caller's context. */
    public static UpstreamWatch start(Vertx vertx, Duration period, Runnable onSilence) {
        UpstreamWatch watch = new UpstreamWatch(vertx, period, onSilence);
        watch.arm(watch.periodNanos);
        return watch;
    }

    public void progress() {
        lastProgress = System.nanoTime();
    }

    /**
     * While the gateway itself holds the upstream back (paused for a client that reads slowly),
     * the silence is not the upstream's: it is not counted.
     */
    public void suspend() {
        suspended = true;
    }

    public void resume() {
        suspended = false;
        progress();
    }

    public void stop() {
        stopped = true;
        if (timerId != -1) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
    }

    private void arm(long delayNanos) {
        timerId = vertx.setTimer(Math.max(1, Duration.ofNanos(delayNanos).toMillis()), id -> check());
    }

    private void check() {
        timerId = -1;
        if (stopped) {
            return;
        }
        long silent = suspended ? 0 : System.nanoTime() - lastProgress;
        if (silent >= periodNanos) {
            stopped = true;
            onSilence.run();
        } else {
            arm(periodNanos - silent);
        }
    }
}
