package dev.tollgate.ledger;

import dev.tollgate.api.ApiException;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Money is a long count of nano-dollars (1e-9 USD) everywhere inside Tollgate and a decimal string
 * in JSON ("4.987654321"). Never binary floating point.
 */
public final class Money {

    public static final int SCALE = 9;
    /** Upper bound of one amount (USD 1e9), far below what a long of nanos can hold. */
    private static final BigDecimal MAX_USD = new BigDecimal("1000000000");

    private Money() {
    }

    public static String format(long nanos) {
        return BigDecimal.valueOf(nanos, SCALE).toPlainString();
    }

    public static long toNanos(BigDecimal usd) {
        return usd.setScale(SCALE, RoundingMode.HALF_UP).unscaledValue().longValueExact();
    }

    /**
     * Parses a positive USD amount given as a JSON string or number text; at most 9 decimals.
     *
     * @throws ApiException 400 with a message naming {@code field}
     */
    public static long parsePositiveUsd(String field, String text) {
        if (text == null || text.isBlank()) {
            throw ApiException.invalidRequest(field + ": required, a decimal string such as \"10.00\"");
        }
        BigDecimal value;
        try {
            value = new BigDecimal(text.trim());
        } catch (NumberFormatException e) {
            throw ApiException.invalidRequest(field + ": '" + abbreviate(text) + "' is not a decimal number");
        }
        if (value.signum() <= 0) {
            throw ApiException.invalidRequest(field + ": must be greater than 0");
        }
        if (value.stripTrailingZeros().scale() > SCALE) {
            throw ApiException.invalidRequest(field + ": at most 9 decimal places (1e-9 USD)");
        }
        if (value.compareTo(MAX_USD) > 0) {
            throw ApiException.invalidRequest(field + ": at most " + MAX_USD.toPlainString() + " USD per entry");
        }
        return toNanos(value);
    }

    private static String abbreviate(String text) {
        return text.length() > 40 ? text.substring(0, 40) + "..." : text;
    }
}
