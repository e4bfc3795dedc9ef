package dev.tollgate.reports;

import io.agroal.api.AgroalDataSource;
import io.restassured.path.json.JsonPath;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.support.Tollgate.admin;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Usage records written at chosen times (as an import does), the report over a range, and what
 * the records of that range sum to: the report tests compare the two.
 */
final class UsageRecords {

    private final AgroalDataSource dataSource;

    UsageRecords(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** A record of {@code account} at {@code at}; its hour is queued to be rolled again. */
    void record(UUID account, String request, String model, UUID upstream, String at, long tokens, long cost,
                Integer upstreamCost) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, cost, upstream_cost,
                                           upstream_id, status, http_status, stream, endpoint, latency_ms, created_at)
                VALUES (?, ?, NULL, ?, ?, ?, ?, ?, 'ok', 200, false, '/v1/messages', 1, ?::timestamptz)
                """)) {
            ps.setString(1, account + "-" + request);
            ps.setObject(2, account);
            ps.setString(3, model);
            ps.setLong(4, tokens);
            ps.setLong(5, cost);
            ps.setObject(6, upstreamCost);
            ps.setObject(7, upstream);
            ps.setString(8, at);
            ps.executeUpdate();
        }
        // Written in the past, as only an import does: its hour is rolled again.
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT tg_usage_rewritten(?::timestamptz, ?::timestamptz)")) {
            ps.setString(1, at);
            ps.setString(2, Instant.parse(at).plus(1, ChronoUnit.HOURS).toString());
            ps.executeQuery().close();
        }
    }

    /** Changes a record in place, as a late settlement does: returns the rows changed. */
    int update(String set, String requestId) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE usage_records SET " + set + " WHERE request_id = ?")) {
            ps.setString(1, requestId);
            return ps.executeUpdate();
        }
    }

    /** Over every record of [from, to): calls, input tokens, cost, upstream cost (nanos). */
    long[] sums(String from, String to) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(cost), 0),
                       coalesce(sum(coalesce(upstream_cost, cost)), 0)
                FROM usage_records WHERE created_at >= ?::timestamptz AND created_at < ?::timestamptz
                """)) {
            ps.setString(1, timestamp(from));
            ps.setString(2, timestamp(to));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)};
            }
        }
    }

    /** Per account with records in [from, to): "calls/input tokens/cost/upstream cost". */
    Map<String, String> sumsByAccount(String from, String to) throws SQLException {
        Map<String, String> sums = new HashMap<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT account_id, count(*), sum(input_tokens), sum(cost), sum(coalesce(upstream_cost, cost))
                FROM usage_records WHERE created_at >= ?::timestamptz AND created_at < ?::timestamptz GROUP BY 1
                """)) {
            ps.setString(1, timestamp(from));
            ps.setString(2, timestamp(to));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    sums.put(rs.getString(1), rs.getLong(2) + "/" + rs.getLong(3) + "/" + rs.getLong(4) + "/" + rs.getLong(5));
                }
            }
        }
        return sums;
    }

    long count(String sql) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Whatever this database went through (live calls across hours, changes, passes of every
     * instance's timer), each day's row equals the sum of its rolled hours, each hour's totals the
     * sum of its accounts' rows, and each month-to-date row the sum of its month's day rows so far.
     */
    void assertRollUpsEqualTheHoursTheyHold() throws SQLException {
        assertEquals(0L, count("""
                SELECT count(*) FROM (
                    SELECT day, account_id, key_id, model, upstream_id, requests, cost, input_tokens FROM usage_daily
                    WHERE day NOT IN (SELECT date_trunc('day', hour, 'UTC') FROM usage_rollup_dirty)
                    EXCEPT
                    SELECT date_trunc('day', hour, 'UTC'), account_id, key_id, model, upstream_id, sum(requests), sum(cost),
                           sum(input_tokens) FROM usage_hourly, usage_rollup_state
                    WHERE hour < rolled_until GROUP BY 1, 2, 3, 4, 5) x"""));
        assertEquals(0L, count("""
                SELECT count(*) FROM (
                    SELECT date_trunc('day', hour, 'UTC'), account_id, key_id, model, upstream_id, sum(requests), sum(cost),
                           sum(input_tokens) FROM usage_hourly, usage_rollup_state
                    WHERE hour < rolled_until AND date_trunc('day', hour, 'UTC') NOT IN
                          (SELECT date_trunc('day', hour, 'UTC') FROM usage_rollup_dirty)
                    GROUP BY 1, 2, 3, 4, 5 HAVING sum(requests) <> 0
                    EXCEPT
                    SELECT day, account_id, key_id, model, upstream_id, requests, cost, input_tokens FROM usage_daily) x"""));
        assertEquals(0L, count("""
                SELECT count(*) FROM (
                    SELECT hour, model, upstream_id, requests, cost FROM usage_hourly_totals
                    WHERE hour NOT IN (SELECT hour FROM usage_rollup_dirty)
                    EXCEPT
                    SELECT hour, model, upstream_id, sum(requests), sum(cost) FROM usage_hourly, usage_rollup_state
                    WHERE hour < rolled_until GROUP BY 1, 2, 3) x"""));
        // per combination and per key ('' model)
        String monthToDate = """
                SELECT m.day, y.account_id, y.key_id, coalesce(y.model, ''), coalesce(y.upstream_id, '00000000-0000-0000-0000-000000000000'),
                       sum(y.requests), sum(y.cost), sum(y.input_tokens), sum(y.upstream_cost), sum(y.output_tokens)
                FROM (SELECT DISTINCT day FROM usage_month_to_date) m
                JOIN usage_daily y ON y.day >= date_trunc('month', m.day, 'UTC') AND y.day <= m.day
                GROUP BY m.day, y.account_id, y.key_id, GROUPING SETS ((y.model, y.upstream_id), ())
                HAVING sum(y.requests) <> 0 OR sum(y.cost) <> 0 OR sum(y.input_tokens) <> 0""";
        String rows = """
                SELECT day, account_id, key_id, model, upstream_id, requests, cost, input_tokens, upstream_cost, output_tokens
                FROM usage_month_to_date WHERE requests <> 0 OR cost <> 0 OR input_tokens <> 0""";
        assertEquals(0L, count("SELECT count(*) FROM (" + rows + " EXCEPT " + monthToDate + ") x"), "month-to-date rows");
        assertEquals(0L, count("SELECT count(*) FROM (" + monthToDate + " EXCEPT " + rows + ") x"), "month-to-date rows");
        // Each month's run of days has no gap and holds every day with usage of its month.
        assertEquals(0L, count("""
                SELECT count(*) FROM (SELECT date_trunc('month', day, 'UTC'), min(day), max(day), count(DISTINCT day) AS days
                                      FROM usage_month_to_date GROUP BY 1) r
                WHERE days <> extract(epoch FROM max - min) / 86400 + 1"""), "month-to-date runs");
        assertEquals(0L, count("""
                SELECT count(*) FROM usage_daily y WHERE requests <> 0 AND NOT EXISTS (
                    SELECT 1 FROM usage_month_to_date m WHERE m.day >= y.day
                    AND date_trunc('month', m.day, 'UTC') = date_trunc('month', y.day, 'UTC'))"""), "month-to-date runs");
    }

    /** The report's JSON. */
    static JsonPath report(String from, String to, String groupBy) {
        return admin().queryParam("from", from).queryParam("to", to).queryParam("group_by", groupBy)
                .get("/admin/v1/reports/usage").then().statusCode(200).extract().jsonPath();
    }

    /** Runs the roll-up job until it has nothing left (waiting out an instance's timer holding it). */
    static void rollUp() throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            JsonPath pass = admin().post("/admin/v1/maintenance/rollups").then().statusCode(200).extract().jsonPath();
            if (!pass.getBoolean("busy") && pass.getLong("hours_rolled") == 0) {
                return;
            }
            Thread.sleep(pass.getBoolean("busy") ? 100 : 0);
        }
        throw new AssertionError("the roll-up job never finished");
    }

    static long nanos(String usd) {
        return new BigDecimal(usd).movePointRight(9).longValueExact();
    }

    private static String timestamp(String dateOrTime) {
        return dateOrTime.length() == 10 ? dateOrTime + "T00:00:00Z" : dateOrTime;
    }
}
