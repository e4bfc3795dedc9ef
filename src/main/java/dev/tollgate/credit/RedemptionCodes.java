package dev.tollgate.credit;

import java.security.SecureRandom;

/**
 * The format of redemption codes, made to be read aloud and typed: "TG-" and 20 characters of
 * Crockford's base32 (no I, L, O or U) in groups of four, the last one a check character (Luhn
 * mod 32): {@code TG-XXXX-XXXX-XXXX-XXXX-XXXX}. 19 random characters carry 95 bits.
 * Typing is forgiving: any case, with or without the dashes and the "TG", and I, L, O read as
 * 1, 1, 0. A typo in one character, or two neighbours swapped (all but 0 and Z), fails the check
 * and is reported as a typo rather than looked up.
 */
final class RedemptionCodes {

    static final String ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    private static final int RANDOM_CHARS = 19;
    private static final int LENGTH = RANDOM_CHARS + 1;
    private static final String PREFIX = "TG";
    private static final SecureRandom RANDOM = new SecureRandom();

    private RedemptionCodes() {
    }

    /** A new code as shown to people, with its dashes. */
    static String generate() {
        StringBuilder body = new StringBuilder(LENGTH);
        for (int i = 0; i < RANDOM_CHARS; i++) {
            body.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        }
        body.append(checkCharacter(body));
        return display(body.toString());
    }

    /**
     * The canonical form of a typed code (20 characters, no prefix or dashes), the one that is
     * hashed; null when it is not a well-formed code or its check character does not match.
     */
    static String canonical(String typed) {
        StringBuilder s = new StringBuilder(LENGTH);
        for (char ch : typed.toUpperCase(java.util.Locale.ROOT).toCharArray()) {
            switch (ch) {
                case '-', ' ' -> { }
                case 'O' -> s.append('0');
                case 'I', 'L' -> s.append('1');
                default -> s.append(ch);
            }
        }
        if (s.length() == LENGTH + PREFIX.length() && s.substring(0, PREFIX.length()).equals(PREFIX)) {
            s.delete(0, PREFIX.length());
        }
        if (s.length() != LENGTH || s.chars().anyMatch(ch -> ALPHABET.indexOf(ch) < 0)) {
            return null;
        }
        return checkCharacter(s.subSequence(0, RANDOM_CHARS)) == s.charAt(RANDOM_CHARS) ? s.toString() : null;
    }

    static String display(String canonical) {
        StringBuilder out = new StringBuilder(PREFIX);
        for (int i = 0; i < canonical.length(); i += 4) {
            out.append('-').append(canonical, i, i + 4);
        }
        return out.toString();
    }

    /** Luhn mod N over the alphabet: catches every single-character error and every adjacent swap but 0Z/Z0. */
    static char checkCharacter(CharSequence payload) {
        int n = ALPHABET.length();
        int factor = 2;
        int sum = 0;
        for (int i = payload.length() - 1; i >= 0; i--) {
            int addend = factor * ALPHABET.indexOf(payload.charAt(i));
            factor = factor == 2 ? 1 : 2;
            sum += addend / n + addend % n;
        }
        return ALPHABET.charAt((n - sum % n) % n);
    }
}
