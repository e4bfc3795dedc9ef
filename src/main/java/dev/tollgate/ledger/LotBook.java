package dev.tollgate.ledger;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Attributes an account's spending to its credit lots, a pure function of the ledger's order.
 *
 * <p>The rule: each debit (a settlement, a negative adjustment) draws on the lots that existed
 * before it (a lower ledger entry id) and still have something left, soonest-expiring first (ties:
 * the older lot first); what no lot covers falls on credit without expiry. Draws in one fixed order
 * add up, so the debits between two lot creations are attributed as one sum: the ledger is read
 * as segments, each starting at a new lot.
 */
public final class LotBook {

    private LotBook() {
    }

    /** A lot as bookkept: what it was, and what was attributed to it so far. */
    public static final class Lot {
        public final long entryId;
        public final long amount;
        public final Instant expiresAt;
        public final Instant createdAt;
        public long spent;
        public long expired;
        /** Changed by {@link #attribute}: to be written back. */
        boolean changed;

        public Lot(long entryId, long amount, Instant expiresAt, Instant createdAt, long spent, long expired) {
            this.entryId = entryId;
            this.amount = amount;
            this.expiresAt = expiresAt;
            this.createdAt = createdAt;
            this.spent = spent;
            this.expired = expired;
        }

        public long remaining() {
            return amount - spent - expired;
        }
    }

    /**
     * The debits after one point of the ledger: {@code debits} (nano-dollars, positive) were spent
     * after the lot {@code startsWithLot} was credited (null: before the first new lot).
     */
    public record Segment(Long startsWithLot, long debits) {
    }

    private static final Comparator<Lot> DRAW_ORDER =
            Comparator.comparing((Lot l) -> l.expiresAt).thenComparingLong(l -> l.entryId);

    /**
     * Attributes the segments, in order, to the lots. {@code lots} are the account's open lots: those
     * credited before the first segment are drawn on from the start, the others from their segment on.
     * Returns what no lot covered (spent from credit without expiry, or below zero).
     */
    public static long attribute(List<Lot> lots, List<Segment> segments) {
        List<Lot> active = new ArrayList<>();
        java.util.Set<Long> later = new java.util.HashSet<>();
        for (Segment s : segments) {
            if (s.startsWithLot() != null) {
                later.add(s.startsWithLot());
            }
        }
        for (Lot lot : lots) {
            if (!later.contains(lot.entryId)) {
                active.add(lot);
            }
        }
        active.sort(DRAW_ORDER);
        long uncovered = 0;
        for (Segment s : segments) {
            if (s.startsWithLot() != null) {
                for (Lot lot : lots) {
                    if (lot.entryId == s.startsWithLot()) {
                        active.add(lot);
                    }
                }
                active.sort(DRAW_ORDER);
            }
            long left = s.debits();
            for (Lot lot : active) {
                if (left == 0) {
                    break;
                }
                long draw = Math.min(left, lot.remaining());
                if (draw > 0) {
                    lot.spent += draw;
                    lot.changed = true;
                    left -= draw;
                }
            }
            uncovered += left;
        }
        return uncovered;
    }
}
