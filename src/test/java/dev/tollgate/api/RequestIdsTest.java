package dev.tollgate.api;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestIdsTest {

    /** A generator that always draws the same digit, to pin the random part of an id. */
    private static Random always(int digit) {
        return new Random() {
            @Override
            public int nextInt(int bound) {
                return digit;
            }
        };
    }

    @Test
    void idsAreReqAnd24Base62Digits() {
        for (int i = 0; i < 1_000; i++) {
            assertTrue(RequestIds.newId().matches("req_[0-9A-Za-z]{24}"));
        }
    }

    @Test
    void theFirstEightDigitsAreTheTimeInMilliseconds() {
        assertEquals("req_00000000" + "0".repeat(16), RequestIds.newId(0, always(0)));
        assertEquals("req_00000010" + "z".repeat(16), RequestIds.newId(62, always(61)));
        assertEquals("req_zzzzzzzz" + "A".repeat(16), RequestIds.newId(218_340_105_584_895L, always(10)));
    }

    @Test
    void aLaterMillisecondSortsAfterAnEarlierOneWhateverTheRandomDigits() {
        long now = 1_796_083_200_000L; // 2026-12-01
        long[] times = {61, 62, 3_843, 3_844, now, now + 1, now + 61, now + 62, now + 86_400_000L};
        for (int i = 1; i < times.length; i++) {
            String earlier = RequestIds.newId(times[i - 1], always(61));
            String later = RequestIds.newId(times[i], always(0));
            assertTrue(earlier.compareTo(later) < 0, earlier + " should sort before " + later);
        }
    }

    @Test
    void idsOfTheSameMillisecondDiffer() {
        Set<String> ids = new HashSet<>();
        Random random = new Random(42);
        for (int i = 0; i < 100_000; i++) {
            ids.add(RequestIds.newId(1_796_083_200_000L, random));
        }
        assertEquals(100_000, ids.size());
    }
}
