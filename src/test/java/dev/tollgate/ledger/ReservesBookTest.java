package dev.tollgate.ledger;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The in-memory side of reserves, against a store whose answers the test sets. */
class ReservesBookTest {

    static final UUID ACCOUNT = UUID.randomUUID();

    /** Grants what is asked the first time for each reserve id, then only renews; or answers as told. */
    static final class Store implements Reserves.Store {
        volatile Long answer;               // null: grant as described; otherwise this answer
        volatile boolean grantEveryTime;
        // Synchronized: background renewals add to it; read it through List.copyOf (a locked copy).
        final List<UUID> asked = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<UUID> givenBack = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Long> wants = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public Long reserve(UUID reserveId, UUID accountId, long want) {
            boolean first = !asked.contains(reserveId);
            asked.add(reserveId);
            wants.add(want);
            if (answer != null) {
                return answer == Long.MIN_VALUE ? null : answer;
            }
            return first || grantEveryTime ? want : 0L;
        }

        @Override
        public void giveBack(UUID reserveId) {
            givenBack.add(reserveId);
        }
    }

    @Test
    void callsAreAdmittedOnlyWhileTheReserveCoversTheirWorstCases() {
        Store store = new Store();
        Reserves reserves = new Reserves(store, 4, Duration.ofMinutes(1));
        List<Hold> admitted = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Hold hold = reserves.admit(ACCOUNT, 10);
            assertNotNull(hold, "call " + i + " fits the reserve of 4 x 10");
            assertTrue(hold.reserve());
            admitted.add(hold);
        }
        assertNull(reserves.admit(ACCOUNT, 10), "a fifth worst case does not fit; the store only renews");
        reserves.settling(admitted.get(0), 3);  // cost 3: 7 of its 10 come back, 37 remain for 30 in flight
        assertNull(reserves.admit(ACCOUNT, 10), "7 free is less than 10");
        assertNotNull(reserves.admit(ACCOUNT, 7), "7 free covers 7");
        assertEquals(1, List.copyOf(store.asked).stream().distinct().count(), "one reserve throughout");
    }

    @Test
    void aReserveRunningLowIsToppedUpAheadOfNeed() throws Exception {
        Store store = new Store();
        store.grantEveryTime = true;
        Reserves reserves = new Reserves(store, 4, Duration.ofMinutes(1));
        for (int i = 0; i < 4; i++) {
            assertNotNull(reserves.admit(ACCOUNT, 10));
        }
        // The fourth call found less than half the reserve free: a top-up was asked in the background.
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (List.copyOf(store.asked).size() < 2) {
            assertTrue(System.nanoTime() < deadline, "no top-up was asked");
            Thread.sleep(5);
        }
        Thread.sleep(50); // let the top-up's answer be applied
        for (int i = 0; i < 4; i++) {
            assertNotNull(reserves.admit(ACCOUNT, 10), "call " + (5 + i) + " fits the topped-up reserve of 80");
        }
        assertEquals(1, List.copyOf(store.asked).stream().distinct().count());
    }

    /** Calls of worst case 10 that each cost all of it, one after another; the top-ups asked for. */
    private static List<Long> topUpsFor(Store store, Reserves reserves, int calls) {
        for (int i = 0; i < calls; i++) {
            Hold hold = reserves.admit(ACCOUNT, 10);
            assertNotNull(hold, "call " + i);
            reserves.settling(hold, 10);
            reserves.settled(hold);
        }
        return List.copyOf(store.wants).stream().filter(w -> w > 0).skip(1).toList(); // not the opening
    }

    @Test
    void aReserveUsedUpWithinTheTurnoverGrowsUpToItsLimit() {
        Store store = new Store();
        store.grantEveryTime = true;
        // Validity zero: every admission renews in the call, so each top-up is applied before the next call.
        Reserves reserves = new Reserves(store, 4, Duration.ZERO, Duration.ofMinutes(1));
        List<Long> topUps = topUpsFor(store, reserves, 2_000);
        assertEquals(List.of(80L, 160L, 320L, 640L, 1280L, 2560L), topUps.subList(0, 6), "each refill doubles");
        long full = 4 * 10L * Reserves.MAX_GROWTH;
        assertTrue(topUps.stream().allMatch(w -> w <= full), "never more than " + Reserves.MAX_GROWTH + "x: " + topUps);
        assertTrue(topUps.size() < 2_000 / 4 / 8, "2,000 calls took " + topUps.size() + " top-ups");
    }

    @Test
    void aReserveThatLastsLongerThanTheTurnoverKeepsItsBaseSize() {
        Store store = new Store();
        store.grantEveryTime = true;
        Reserves reserves = new Reserves(store, 4, Duration.ZERO, Duration.ZERO);
        List<Long> topUps = topUpsFor(store, reserves, 40);
        assertTrue(topUps.size() >= 10, "topped up again and again: " + topUps);
        assertTrue(topUps.stream().allMatch(w -> w == 40), "always 4 worst cases: " + topUps);
    }

    @Test
    void aTopUpTheAccountCannotSpareResetsTheGrowth() {
        Store store = new Store();
        store.grantEveryTime = true;
        Reserves reserves = new Reserves(store, 4, Duration.ZERO, Duration.ofMinutes(1));
        topUpsFor(store, reserves, 60);
        store.answer = 0L; // tg_reserve: balance short of 8 x the top-up, nothing added
        Hold hold = reserves.admit(ACCOUNT, 10);
        while (hold != null) { // drain what is left; each renewal asks again and is refused
            reserves.settling(hold, 10);
            reserves.settled(hold);
            hold = reserves.admit(ACCOUNT, 10);
        }
        store.answer = null;
        store.wants.clear();
        assertNotNull(reserves.admit(ACCOUNT, 10));
        assertEquals(List.of(80L), List.copyOf(store.wants), "back to the base size (doubled once, used within the turnover)");
    }

    @Test
    void aReserveWhoseAccountGotLimitsDrainsAndIsReturnedWhenQuiet() {
        Store store = new Store();
        Reserves reserves = new Reserves(store, 4, Duration.ZERO); // every admission renews
        Hold first = reserves.admit(ACCOUNT, 10);
        assertNotNull(first);
        store.answer = Long.MIN_VALUE; // the account now has limits: tg_reserve answers NULL
        assertNull(reserves.admit(ACCOUNT, 10), "no more calls from the reserve");
        reserves.returnIdle(Duration.ZERO);
        assertTrue(store.givenBack.isEmpty(), "not returned while a call is in flight on it");
        reserves.settling(first, 4);
        reserves.settled(first);
        reserves.returnIdle(Duration.ZERO);
        assertEquals(List.of(first.id()), store.givenBack);
    }

    @Test
    void aReapedReserveIsReplacedByANewOne() {
        Store store = new Store();
        Reserves reserves = new Reserves(store, 4, Duration.ZERO);
        Hold first = reserves.admit(ACCOUNT, 10);
        store.answer = Reserves.Store.GONE;
        assertNull(reserves.admit(ACCOUNT, 10), "the store says GONE to the renewal and to the new one");
        store.answer = null;
        Hold next = reserves.admit(ACCOUNT, 10);
        assertNotNull(next);
        assertNotEquals(first.id(), next.id());
    }

    @Test
    void anIdleReserveIsReturnedAndABusyOneIsNot() {
        Store store = new Store();
        Reserves reserves = new Reserves(store, 4, Duration.ofMinutes(1));
        Hold busy = reserves.admit(ACCOUNT, 10);
        reserves.returnIdle(Duration.ZERO);
        assertTrue(store.givenBack.isEmpty(), "a call is in flight");
        reserves.settling(busy, 10);
        reserves.returnIdle(Duration.ZERO);
        assertTrue(store.givenBack.isEmpty(), "its settlement is not written yet");
        reserves.settled(busy);
        reserves.returnIdle(Duration.ofHours(1));
        assertTrue(store.givenBack.isEmpty(), "used a moment ago");
        reserves.returnIdle(Duration.ZERO);
        assertEquals(List.of(busy.id()), store.givenBack);
    }
}
