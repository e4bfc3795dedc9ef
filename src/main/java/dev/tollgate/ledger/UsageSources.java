package dev.tollgate.ledger;

import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The roll-up rows of a range of whole UTC hours as one SQL FROM item ({@code (...) h}), each row
 * with {@code hour, account_id, key_id, model, upstream_id} and the sums ({@code requests} ...
 * {@code upstream_cost}). Rolled hours and days come from the job-built roll-ups
 * ({@code usage_hourly_totals}, {@code usage_daily}, {@code usage_month_to_date}); the hours not
 * rolled yet (the last hour or two) and those changed since they were rolled come from
 * {@code usage_hourly}. Every hour of the range is read from exactly one of them (a changed day's
 * rolled rows taken out again where a month-to-date sum holds them), in one statement (one
 * snapshot), so the sums stay those of the usage records.
 */
public final class UsageSources {

    /** How fine the rows are. */
    public enum Grain {
        /** Every account together, per hour and model and upstream (account and key are null). */
        ALL_HOURS,
        /** Per account, key, model and upstream: per day for rolled days ({@code hour} is the day), else per hour. */
        DAYS,
        /** Per account, key, model, upstream and hour: {@code usage_hourly} alone. */
        HOURS,
        /**
         * Per account and key over the whole range ({@code hour}, and {@code model} and
         * {@code upstream_id} of rolled days, are null): the rolled days as differences of the keys'
         * month-to-date rows, a few rows per key whatever the number of days; rows may be negative,
         * their sums per key are not.
         */
        KEYS_OVER_RANGE,
        /** As {@link #KEYS_OVER_RANGE}, per account, key, model and upstream ({@code hour} is null). */
        COMBINATIONS_OVER_RANGE
    }

    private static final List<String> SUM_COLUMNS = List.of("requests", "input_tokens", "output_tokens",
            "cache_creation_5m_input_tokens", "cache_creation_1h_input_tokens", "cache_read_input_tokens", "cost",
            "upstream_cost");
    public static final String SUMS = String.join(", ", SUM_COLUMNS);
    private static final String COMBINATION = "account_id, key_id, model, upstream_id";
    private static final String ROLLED = "(SELECT coalesce(rolled_until, '-infinity'::timestamptz) FROM usage_rollup_state)";
    private static final String HOURLY = "SELECT hour, " + COMBINATION + ", " + SUMS + " FROM usage_hourly";

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
                String first = literal(firstWholeDay(from));
                String covered = coveredByDays(first, to);
                yield "(SELECT day AS hour, " + COMBINATION + ", " + SUMS + " FROM usage_daily"
                        + " WHERE day >= " + first + " AND day < " + covered + only
                        + " AND day NOT IN (" + changedDays(first, covered) + ")"
                        + " UNION ALL " + hoursBesideTheDays(f, t, first, covered, only)
                        + " UNION ALL " + changedDaysHours(first, covered, only) + ") h";
            }
            case KEYS_OVER_RANGE, COMBINATIONS_OVER_RANGE -> {
                if (account != null) {
                    throw new IllegalArgumentException(grain + " has no account");
                }
                yield overRange(grain == Grain.KEYS_OVER_RANGE, from, to);
            }
        };
    }

    /**
     * The rows of [from, to) per key ({@code keys}) or per combination: the covered days' last
     * month-to-date rows (capped to each month of the range) less those of the day before the
     * first (when in the same month), the changed days' rolled rows out and their hours in, and the
     * hours beside the days.
     */
    private static String overRange(boolean keys, Instant from, Instant to) {
        String f = literal(from);
        String t = literal(to);
        Instant firstDay = firstWholeDay(from);
        String first = literal(firstDay);
        String covered = coveredByDays(first, to);
        String lastDay = "date_trunc('day', " + covered + " - interval '1 hour', 'UTC')";
        List<String> bounds = new ArrayList<>();
        LocalDate firstDate = LocalDate.ofInstant(firstDay, ZoneOffset.UTC);
        if (firstDate.getDayOfMonth() > 1) {
            bounds.add("(-1, " + literal(firstDate.withDayOfMonth(1)) + ", " + literal(firstDate.minusDays(1)) + ")");
        }
        for (YearMonth m = YearMonth.from(firstDate), end = YearMonth.from(to.minusSeconds(1).atZone(ZoneOffset.UTC));
             !m.isAfter(end); m = m.plusMonths(1)) {
            bounds.add("(1, " + literal(m.atDay(1)) + ", " + literal(m.atEndOfMonth()) + ")");
        }
        // The days to read, each with its net sign (a day both added and taken away is not read);
        // materialised, so the planner knows it is a few rows and reads each by the primary key.
        String days = bounds.isEmpty() ? "" : "WITH b AS MATERIALIZED (SELECT d.day, sum(b.sign) AS sign"
                + " FROM (VALUES " + String.join(", ", bounds) + ") b (sign, lo, hi)"
                + " CROSS JOIN LATERAL (SELECT max(day) AS day FROM usage_month_to_date"
                + " WHERE day >= b.lo AND day <= least(b.hi, " + lastDay + ")) d"
                + " WHERE " + covered + " > " + first + " GROUP BY 1 HAVING sum(b.sign) <> 0)"
                + " SELECT NULL::timestamptz AS hour, m.account_id, m.key_id, "
                + (keys ? "NULL::text AS model, NULL::uuid AS upstream_id, " : "m.model, m.upstream_id, ")
                + signed("b.sign * m.") + " FROM b JOIN usage_month_to_date m ON m.day = b.day"
                + (keys ? " AND m.model = ''" : " AND m.model > ''")
                + " UNION ALL SELECT NULL, " + COMBINATION + ", " + signed("-") + " FROM usage_daily"
                + " WHERE day IN (" + changedDays(first, covered) + ") UNION ALL ";
        return "(" + days + hoursBesideTheDays(f, t, first, covered, "")
                + " UNION ALL " + changedDaysHours(first, covered, "") + ") h";
    }

    /** The first midnight (UTC) at or after {@code from}. */
    private static Instant firstWholeDay(Instant from) {
        Instant day = from.truncatedTo(ChronoUnit.DAYS);
        return day.isBefore(from) ? day.plus(1, ChronoUnit.DAYS) : day;
    }

    /**
     * Where the day rows of a range ending at {@code to} stop: [first, covered) is what they hold. A
     * day's row holds its rolled hours, so the current day's (up to rolled_until) counts when the
     * range goes that far.
     */
    private static String coveredByDays(String first, Instant to) {
        return "greatest(" + first + ", CASE WHEN " + literal(to) + " >= " + ROLLED + " THEN " + ROLLED
                + " ELSE least(" + literal(to.truncatedTo(ChronoUnit.DAYS)) + ", date_trunc('day', " + ROLLED
                + ", 'UTC')) END)";
    }

    /** The days of [first, covered) with an hour changed since it was rolled. */
    private static String changedDays(String first, String covered) {
        return "SELECT date_trunc('day', hour, 'UTC') FROM usage_rollup_dirty WHERE hour >= " + first
                + " AND hour < " + covered;
    }

    /** The hours of [f, t) before the first whole day and after the covered days. */
    private static String hoursBesideTheDays(String f, String t, String first, String covered, String only) {
        return HOURLY + " WHERE hour >= " + f + " AND hour < least(" + t + ", " + first + ")" + only
                + " UNION ALL " + HOURLY + " WHERE hour >= greatest(" + f + ", " + covered + ") AND hour < " + t + only;
    }

    /** The usage_hourly rows of the covered days changed since they were rolled. */
    private static String changedDaysHours(String first, String covered, String only) {
        return changed("SELECT DISTINCT date_trunc('day', hour, 'UTC') AS day", first, covered,
                "u.hour >= d.day AND u.hour < least(d.day + interval '24 hours', " + covered + ")",
                only.replace("account_id", "u.account_id"));
    }

    /** Each sum column, as {@code <prefix>column AS column}. */
    private static String signed(String prefix) {
        return String.join(", ", SUM_COLUMNS.stream().map(c -> prefix + c + " AS " + c).toList());
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

    private static String literal(LocalDate day) {
        return literal(day.atStartOfDay(ZoneOffset.UTC).toInstant());
    }
}
