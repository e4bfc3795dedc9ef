package dev.tollgate.ledger;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

/**
 * The roll-up rows of a range of whole UTC hours as one SQL FROM item ({@code (...) h}), each row
 * with {@code hour, account_id, key_id, model, upstream_id} and the sums ({@code requests} ...
 * {@code upstream_cost}). Rolled hours and days come from the job-built roll-ups
 * ({@code usage_hourly_totals}, {@code usage_daily}); the hours not rolled yet (the last hour or
 * two) and those changed since they were rolled come from {@code usage_hourly}. Every hour of the
 * range is read from exactly one of them, in one statement (one snapshot), so the sums stay those
 * of the usage records.
 */
public final class UsageSources {

    /** How fine the rows are. */
    public enum Grain {
        /** Every account together, per hour and model and upstream (account and key are null). */
        ALL_HOURS,
        /** Per account, key, model and upstream: per day for rolled days ({@code hour} is the day), else per hour. */
        DAYS,
        /** Per account, key, model, upstream and hour: {@code usage_hourly} alone. */
        HOURS
    }

    public static final String SUMS = "requests, input_tokens, output_tokens, cache_creation_5m_input_tokens,"
            + " cache_creation_1h_input_tokens, cache_read_input_tokens, cost, upstream_cost";
    private static final String ROLLED = "(SELECT coalesce(rolled_until, '-infinity'::timestamptz) FROM usage_rollup_state)";
    private static final String HOURLY = "SELECT hour, account_id, key_id, model, upstream_id, " + SUMS + " FROM usage_hourly";

    private UsageSources() {
    }

    /**
     * The rows of [from, to) (whole hours), of one account or of all (account null). Times and ids
     * are written into the text (their canonical forms are safe), so each statement is planned for
     * its own range.
     */
    public static String of(Grain grain, Instant from, Instant to, UUID account) {
        String f = literal(from);
        String t = literal(to);
        String only = account == null ? "" : " AND account_id = '" + account + "'";
        return switch (grain) {
            case HOURS -> "(" + HOURLY + " WHERE hour >= " + f + " AND hour < " + t + only + ") h";
            case ALL_HOURS -> {
                if (account != null) {
                    throw new IllegalArgumentException("ALL_HOURS has no account");
                }
                yield "(SELECT hour, NULL::uuid AS account_id, NULL::uuid AS key_id, model, upstream_id, " + SUMS
                        + " FROM usage_hourly_totals WHERE hour >= " + f + " AND hour < least(" + t + ", " + ROLLED + ")"
                        + " AND hour NOT IN (SELECT hour FROM usage_rollup_dirty)"
                        + " UNION ALL " + HOURLY + " WHERE hour >= greatest(" + f + ", " + ROLLED + ") AND hour < " + t
                        + " UNION ALL " + changed("SELECT DISTINCT hour", f, "least(" + t + ", " + ROLLED + ")",
                        "u.hour = d.hour", "") + ") h";
            }
            case DAYS -> {
                Instant firstDay = from.truncatedTo(ChronoUnit.DAYS);
                if (firstDay.isBefore(from)) {
                    firstDay = firstDay.plus(1, ChronoUnit.DAYS);
                }
                String first = literal(firstDay);
                // What the days' rows of the range hold: [first, covered). A day's row holds its rolled
                // hours, so the current day's (up to rolled_until) counts when the range goes that far.
                String covered = "greatest(" + first + ", CASE WHEN " + t + " >= " + ROLLED + " THEN " + ROLLED
                        + " ELSE least(" + literal(to.truncatedTo(ChronoUnit.DAYS)) + ", date_trunc('day', " + ROLLED
                        + ", 'UTC')) END)";
                yield "(SELECT day AS hour, account_id, key_id, model, upstream_id, " + SUMS + " FROM usage_daily"
                        + " WHERE day >= " + first + " AND day < " + covered + only
                        + " AND day NOT IN (SELECT date_trunc('day', hour, 'UTC') FROM usage_rollup_dirty WHERE hour >= "
                        + first + " AND hour < " + covered + ")"
                        // the hours before the first whole day, after the last rolled one, and of rolled days changed since
                        + " UNION ALL " + HOURLY + " WHERE hour >= " + f + " AND hour < least(" + t + ", " + first + ")" + only
                        + " UNION ALL " + HOURLY + " WHERE hour >= greatest(" + f + ", " + covered + ") AND hour < " + t + only
                        + " UNION ALL " + changed("SELECT DISTINCT date_trunc('day', hour, 'UTC') AS day", first, covered,
                        "u.hour >= d.day AND u.hour < least(d.day + interval '1 day', " + covered + ")",
                        only.replace("account_id", "u.account_id"))
                        + ") h";
            }
        };
    }

    /**
     * The usage_hourly rows of the changed hours (or days) of [from, to): a lateral join, so each is
     * read through the index, never by a scan of the roll-up.
     */
    private static String changed(String select, String from, String to, String match, String only) {
        return "SELECT u.* FROM (" + select + " FROM usage_rollup_dirty WHERE hour >= " + from + " AND hour < " + to + ") d"
                + " CROSS JOIN LATERAL (" + HOURLY + " u WHERE " + match + only + ") u";
    }

    private static String literal(Instant instant) {
        return "'" + instant + "'::timestamptz";
    }
}
