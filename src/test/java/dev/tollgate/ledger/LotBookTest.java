package dev.tollgate.ledger;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The attribution of spending to credit lots, as a pure function of the ledger's order. */
class LotBookTest {

    private static final Instant T = Instant.parse("2027-01-01T00:00:00Z");

    private static LotBook.Lot lot(long entry, long amount, int days) {
        return new LotBook.Lot(entry, amount, T.plusSeconds(days * 86_400L), T, 0, 0);
    }

    @Test
    void soonestExpiringFirstThenCreditWithoutExpiry() {
        LotBook.Lot late = lot(1, 500, 30);
        LotBook.Lot soon = lot(2, 300, 3);
        long uncovered = LotBook.attribute(List.of(late, soon), List.of(new LotBook.Segment(null, 1000)));
        assertEquals(300, soon.spent);
        assertEquals(500, late.spent);
        assertEquals(200, uncovered, "falls on credit without expiry");
    }

    @Test
    void aLotDrawsOnlyOnDebitsAfterItWasCredited() {
        LotBook.Lot old = lot(1, 100, 10);
        LotBook.Lot later = lot(5, 100, 1);
        // 80 spent before lot 5 existed, 50 after: the 80 all from lot 1, then 50 from lot 5 (sooner).
        long uncovered = LotBook.attribute(List.of(old, later),
                List.of(new LotBook.Segment(null, 80), new LotBook.Segment(5L, 50)));
        assertEquals(80, old.spent);
        assertEquals(50, later.spent);
        assertEquals(0, uncovered);
    }

    @Test
    void whatWasExpiredIsNotDrawnAgainAndTiesGoToTheOlderLot() {
        LotBook.Lot a = new LotBook.Lot(3, 100, T, T, 10, 60);
        LotBook.Lot b = new LotBook.Lot(4, 100, T, T, 0, 0);
        long uncovered = LotBook.attribute(List.of(b, a), List.of(new LotBook.Segment(null, 150)));
        assertEquals(40, a.spent, "the older lot first, and only the 30 left of it");
        assertEquals(0, a.remaining());
        assertEquals(100, b.spent);
        assertEquals(20, uncovered);
    }
}
