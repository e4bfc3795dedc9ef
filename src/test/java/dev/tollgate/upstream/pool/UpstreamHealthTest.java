package dev.tollgate.upstream.pool;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpstreamHealthTest {

    private static final Duration BASE = Duration.ofSeconds(2);
    private static final Duration MAX = Duration.ofSeconds(60);

    @Test
    void throttledSitsOutItsRetryAfterThenTakesCallsAgain() {
        UpstreamHealth h = new UpstreamHealth();
        assertTrue(h.tryAcquire(0, null, false));
        h.release();
        h.throttled(1_000, Duration.ofSeconds(2), BASE, MAX);
        assertFalse(h.tryAcquire(2_999, null, false));
        assertEquals(3_000, h.coolingUntil(2_999).toEpochMilli());
        assertTrue(h.tryAcquire(3_000, null, false));
        assertNull(h.coolingUntil(3_000));
        assertEquals(1, h.recent(3_000, UpstreamHealth.Count.THROTTLED));
    }

    @Test
    void withoutRetryAfterTheBackoffDoublesUpToItsCapAndAnAnswerResetsIt() {
        UpstreamHealth h = new UpstreamHealth();
        h.throttled(0, null, BASE, MAX);
        assertEquals(2_000, h.coolingUntil(0).toEpochMilli());
        h.throttled(2_000, null, BASE, MAX);
        assertEquals(6_000, h.coolingUntil(2_000).toEpochMilli());
        for (int i = 0; i < 10; i++) {
            h.throttled(100_000 * (i + 1), null, BASE, MAX);
        }
        assertEquals(1_060_000, h.coolingUntil(1_000_000).toEpochMilli());
        h.answered(2_000_000);
        h.throttled(2_000_000, null, BASE, MAX);
        assertEquals(2_002_000, h.coolingUntil(2_000_000).toEpochMilli());
    }

    @Test
    void aRefusedConnectionOpensTheCircuitUntilOneProbeAnswers() {
        UpstreamHealth h = new UpstreamHealth();
        assertTrue(h.tryAcquire(0, null, false));
        h.connectionFailed(0, BASE, MAX);
        h.release();
        assertFalse(h.tryAcquire(1_999, null, false), "cooling down");
        assertTrue(h.tryAcquire(2_000, null, false), "the probe");
        assertFalse(h.tryAcquire(2_001, null, false), "only one probe at a time");
        h.answered(2_100);
        h.release();
        assertTrue(h.tryAcquire(2_200, null, false));
        assertTrue(h.tryAcquire(2_200, null, false));
    }

    @Test
    void anAnswerEndsTheCooldownAndTheLatestAnswerDecidesItsLength() {
        UpstreamHealth h = new UpstreamHealth();
        h.credentialRefused(0, Duration.ofMinutes(10));
        h.throttled(1_000, Duration.ofSeconds(7), BASE, MAX);
        assertEquals(8_000, h.coolingUntil(1_000).toEpochMilli(), "the upstream's own retry-after, not the older guess");
        assertTrue(h.tryAcquire(1_000, null, true), "a last resort may still try it");
        h.answered(1_500);
        h.release();
        assertNull(h.coolingUntil(1_500));
        assertTrue(h.tryAcquire(1_500, null, false));
    }

    @Test
    void maxConcurrentIsRespectedPerInstance() {
        UpstreamHealth h = new UpstreamHealth();
        assertTrue(h.tryAcquire(0, 2, false));
        assertTrue(h.tryAcquire(0, 2, false));
        assertFalse(h.tryAcquire(0, 2, false));
        assertFalse(h.tryAcquire(0, 2, true), "not even as a last resort");
        h.release();
        assertTrue(h.tryAcquire(0, 2, false));
    }

    @Test
    void aRefusedCredentialSitsOutTheLongCooldown() {
        UpstreamHealth h = new UpstreamHealth();
        h.credentialRefused(0, Duration.ofMinutes(10));
        assertFalse(h.tryAcquire(599_999, null, false));
        assertTrue(h.tryAcquire(600_000, null, false));
        assertEquals(1, h.recent(1_000, UpstreamHealth.Count.ERRORS));
        assertEquals(0, h.recent(600_000, UpstreamHealth.Count.ERRORS), "recent: the last five minutes");
    }
}
