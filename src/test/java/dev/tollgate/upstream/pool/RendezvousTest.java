package dev.tollgate.upstream.pool;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RendezvousTest {

    static Upstream upstream(String name, int weight, int priority) {
        return new Upstream(UUID.nameUUIDFromBytes(name.getBytes()), name, Upstream.ANTHROPIC, "https://api.anthropic.com",
                null, "…abcd", weight, priority, null, null, true, null, false);
    }

    /** The first upstream of {@code order} that is not failed: what UpstreamAttempts.advance picks. */
    static Upstream pick(List<Upstream> upstreams, String key, Set<Upstream> failed) {
        return Rendezvous.order(upstreams, key).stream().filter(u -> !failed.contains(u)).findFirst().orElseThrow();
    }

    /**
     * What two instances rely on to agree with no shared state. Not yet checked across two real
     * processes: TwoInstancesIT (packaged jar) does not start a pool.
     */
    @Test
    void twoRoutersBuiltFromTheSameListPickTheSameUpstream() {
        List<Upstream> one = List.of(upstream("a", 1, 0), upstream("b", 2, 0), upstream("c", 1, 0));
        // Another instance: the same upstreams, loaded as separate objects and in another order.
        List<Upstream> other = new ArrayList<>(List.of(upstream("c", 1, 0), upstream("a", 1, 0), upstream("b", 2, 0)));
        Collections.reverse(other);
        for (int i = 0; i < 2_000; i++) {
            String key = "session-" + i;
            assertEquals(Rendezvous.order(one, key), Rendezvous.order(other, key), key);
        }
    }

    @Test
    void keysSpreadInProportionToTheWeights() {
        List<Upstream> upstreams = List.of(upstream("a", 1, 0), upstream("b", 2, 0), upstream("c", 3, 0));
        Map<String, Integer> counts = new HashMap<>();
        int keys = 60_000;
        for (int i = 0; i < keys; i++) {
            counts.merge(pick(upstreams, "k" + i, Set.of()).name(), 1, Integer::sum);
        }
        assertEquals(1 / 6.0, counts.get("a") / (double) keys, 0.01, counts::toString);
        assertEquals(2 / 6.0, counts.get("b") / (double) keys, 0.01, counts::toString);
        assertEquals(3 / 6.0, counts.get("c") / (double) keys, 0.01, counts::toString);
    }

    @Test
    void lowerPriorityComesFirstWhateverTheScore() {
        List<Upstream> upstreams = List.of(upstream("backup", 1000, 1), upstream("main", 1, 0));
        for (int i = 0; i < 500; i++) {
            assertEquals("main", Rendezvous.order(upstreams, "k" + i).get(0).name());
        }
    }

    /**
     * docs/benchmarks.md, "Upstream pool": 3 upstreams, 50 conversations of 5 turns. The share of
     * turns that land where the conversation's previous turn went, with all healthy and with one
     * failing from the third turn on.
     */
    @Test
    void conversationsStickToTheirUpstreamAndOnlyTheFailedOnesShareMoves() {
        List<Upstream> upstreams = List.of(upstream("org-1", 1, 0), upstream("org-2", 1, 0), upstream("org-3", 1, 0));
        Upstream failing = upstreams.get(1);

        int[] healthy = simulate(upstreams, null);
        assertEquals(200, healthy[0], "later turns that stayed where the previous turn went, all healthy");

        int[] withFailure = simulate(upstreams, failing);
        int onFailing = withFailure[1];
        assertTrue(onFailing > 0 && onFailing < 50, "some conversations start on the failing upstream: " + onFailing);
        assertEquals(200 - onFailing, withFailure[0], "only the failed upstream's conversations move, once each");
        assertEquals(onFailing, withFailure[2]);
        System.out.printf("stickiness: all healthy %d/200 = %.1f%%; org-2 failing from turn 3: %d/200 = %.1f%%,"
                        + " %d of 50 conversations moved (all of them org-2's, %d), none of the others%n",
                healthy[0], healthy[0] / 2.0, withFailure[0], withFailure[0] / 2.0, withFailure[2], onFailing);
    }

    /** {stayed (of 200 later turns), conversations first on {@code failing}, conversations that moved}. */
    private static int[] simulate(List<Upstream> upstreams, Upstream failing) {
        int stayed = 0;
        int onFailing = 0;
        int moved = 0;
        for (int c = 0; c < 50; c++) {
            String conversation = "user_" + UUID.nameUUIDFromBytes(("conversation " + c).getBytes()) + "_session";
            Upstream previous = null;
            boolean movedOnce = false;
            for (int turn = 1; turn <= 5; turn++) {
                Set<Upstream> failed = failing != null && turn >= 3 ? Set.of(failing) : Set.of();
                Upstream now = pick(upstreams, conversation, failed);
                if (turn == 1 && now.equals(failing)) {
                    onFailing++;
                }
                if (previous != null) {
                    if (now.equals(previous)) {
                        stayed++;
                    } else if (!movedOnce) {
                        movedOnce = true;
                        moved++;
                    }
                }
                previous = now;
            }
        }
        return new int[] {stayed, onFailing, moved};
    }
}
