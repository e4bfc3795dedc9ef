package dev.tollgate.credit;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedemptionCodesTest {

    @Test
    void codesAreGroupedCrockfordBase32WithACheckCharacter() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            String code = RedemptionCodes.generate();
            assertTrue(code.matches("TG(-[0-9A-HJKMNP-TV-Z]{4}){5}"), code);
            String canonical = RedemptionCodes.canonical(code);
            assertEquals(code, RedemptionCodes.display(canonical));
            assertTrue(seen.add(canonical), "a repeated code");
        }
    }

    @Test
    void typingIsForgiving() {
        String code = "TG-" + "0123-4567-89AB-CDEF-GHJ";
        String canonical = "0123456789ABCDEFGHJ" + RedemptionCodes.checkCharacter("0123456789ABCDEFGHJ");
        String typed = code + canonical.charAt(19);
        assertEquals(canonical, RedemptionCodes.canonical(typed));
        assertEquals(canonical, RedemptionCodes.canonical(typed.toLowerCase()));
        assertEquals(canonical, RedemptionCodes.canonical(typed.replace("-", " ").substring(3)));
        assertEquals(canonical, RedemptionCodes.canonical(typed.replace('0', 'O').replace('1', 'l')));
    }

    @Test
    void everySingleTypoAndNeighbourSwapIsCaught() {
        String canonical = RedemptionCodes.canonical(RedemptionCodes.generate());
        for (int i = 0; i < canonical.length(); i++) {
            for (char c : RedemptionCodes.ALPHABET.toCharArray()) {
                if (c != canonical.charAt(i)) {
                    String typo = canonical.substring(0, i) + c + canonical.substring(i + 1);
                    assertNull(RedemptionCodes.canonical(typo), typo);
                }
            }
        }
        // Luhn mod 32 misses exactly one swap of neighbours: "0Z" for "Z0" (their weighted sums are equal).
        for (int i = 0; i + 1 < canonical.length(); i++) {
            char a = canonical.charAt(i);
            char b = canonical.charAt(i + 1);
            String swapped = canonical.substring(0, i) + b + a + canonical.substring(i + 2);
            if (a != b && !Set.of("0Z", "Z0").contains("" + a + b)) {
                assertNull(RedemptionCodes.canonical(swapped), swapped);
            }
        }
        assertNull(RedemptionCodes.canonical("TG-0123-4567-89AB-CDEF-GHJ"), "too short");
        assertNull(RedemptionCodes.canonical(canonical.substring(0, 19) + "U"), "U is not in the alphabet");
    }
}
