package dev.tollgate.web;

import io.quarkus.qute.TemplateExtension;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.Locale;

/** Template helpers: {@code {amount.usd}} formats a USD decimal string, {@code {n.count}} a number. */
@TemplateExtension
public final class Formats {

    private Formats() {
    }

    /**
     * "$1,234.56"; amounts under a cent keep up to six decimals ("$0.000123"), so a cheap call
     * does not read as free. The exact amount is on the API (and in the element's title).
     */
    public static String usd(String amount) {
        if (amount == null || amount.isBlank()) {
            return "–";
        }
        BigDecimal v;
        try {
            v = new BigDecimal(amount);
        } catch (NumberFormatException e) {
            return amount;
        }
        BigDecimal abs = v.abs();
        int scale = abs.signum() == 0 || abs.compareTo(new BigDecimal("0.01")) >= 0 ? 2 : 6;
        DecimalFormat f = new DecimalFormat(scale == 2 ? "#,##0.00" : "#,##0.00####", DecimalFormatSymbols.getInstance(Locale.US));
        String text = f.format(abs.setScale(scale, RoundingMode.HALF_UP));
        return (v.signum() < 0 ? "−$" : "$") + text;
    }

    /** {@code {n.calls}}: "1 call", "2,048 calls". */
    public static String calls(Object n) {
        return count(n) + (n instanceof Number num && num.longValue() == 1 ? " call" : " calls");
    }

    public static String count(Object n) {
        return n instanceof Number num ? String.format(Locale.US, "%,d", num.longValue()) : n == null ? "–" : n.toString();
    }
}
