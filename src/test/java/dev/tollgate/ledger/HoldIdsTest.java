package dev.tollgate.ledger;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HoldIdsTest {

    /** PostgreSQL orders uuids by their bytes, that is as two unsigned longs. */
    private static int compareAsPostgres(UUID a, UUID b) {
        int high = Long.compareUnsigned(a.getMostSignificantBits(), b.getMostSignificantBits());
        return high != 0 ? high : Long.compareUnsigned(a.getLeastSignificantBits(), b.getLeastSignificantBits());
    }

    /** A generator whose every bit is the same, to pin the random part of an id. */
    private static Random allBits(boolean set) {
        return new Random() {
            @Override
            public int nextInt() {
                return set ? -1 : 0;
            }

            @Override
            public long nextLong() {
                return set ? -1L : 0L;
            }
        };
    }

    @Test
    void idsAreVersion7WithTheRfcVariantAndTheirMillisecond() {
        long now = 1_796_083_200_123L;
        for (boolean bits : new boolean[] {false, true}) {
            UUID id = HoldIds.at(now, allBits(bits));
            assertEquals(7, id.version());
            assertEquals(2, id.variant());
            assertEquals(now, id.getMostSignificantBits() >>> 16);
        }
        assertEquals(7, HoldIds.next().version());
        assertTrue(Math.abs((HoldIds.next().getMostSignificantBits() >>> 16) - System.currentTimeMillis()) < 60_000);
    }

    @Test
    void aLaterMillisecondSortsAfterAnEarlierOneWhateverTheRandomBits() {
        long now = 1_796_083_200_000L;
        long[] times = {0, 1, 255, 256, 65_535, 65_536, now, now + 1, now + 86_400_000L, (1L << 48) - 1};
        for (int i = 1; i < times.length; i++) {
            UUID earlier = HoldIds.at(times[i - 1], allBits(true));
            UUID later = HoldIds.at(times[i], allBits(false));
            assertTrue(compareAsPostgres(earlier, later) < 0, earlier + " should sort before " + later);
        }
    }

    @Test
    void idsOfTheSameMillisecondDiffer() {
        Set<UUID> ids = new HashSet<>();
        Random random = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            ids.add(HoldIds.at(1_796_083_200_000L, random));
        }
        assertEquals(100_000, ids.size());
    }
}
