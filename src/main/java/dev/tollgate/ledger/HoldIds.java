package dev.tollgate.ledger;

import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ids of hold rows: version 7 UUIDs (RFC 9562), the time in milliseconds first. Every call with
 * limits writes a hold row, and time-ordered ids go in at one end of its primary key instead of at
 * a random page of it, as the request ids of usage records do (RequestIds).
 */
final class HoldIds {

    private HoldIds() {
    }

    static UUID next() {
        return at(System.currentTimeMillis(), ThreadLocalRandom.current());
    }

    /** 48 bits of milliseconds, the version (7), 12 random bits; the variant (10), 62 random bits. */
    static UUID at(long epochMillis, Random random) {
        long high = (epochMillis & 0xFFFF_FFFF_FFFFL) << 16 | 0x7000L | (random.nextInt() & 0xFFFL);
        long low = Long.MIN_VALUE | (random.nextLong() >>> 2);
        return new UUID(high, low);
    }
}
