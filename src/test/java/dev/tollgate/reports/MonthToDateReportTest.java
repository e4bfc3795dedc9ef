package dev.tollgate.reports;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.reports.UsageRecords.nanos;
import static dev.tollgate.reports.UsageRecords.report;
import static dev.tollgate.reports.UsageRecords.rollUp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A report grouped by account or key and not by time is read from month-to-date rows: the
 * difference of a range's last day and the day before its first, one term per month. Over ranges
 * that start and end mid-month, mid-day, across months and across days without usage, before and
 * after the roll-up and with changes pending in and before the range, each account's row and the
 * totals equal the sums of the usage records.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class MonthToDateReportTest {

    static final UUID UPSTREAM_B = UUID.fromString("0b0b0b0b-0000-0000-0000-00000000000b");
    static final String HAIKU = "claude-haiku-4-5-20251001";
    static final String SONNET = "claude-sonnet-4-6";

    @Inject
    AgroalDataSource dataSource;

    @Test
    void accountsAndKeysOverAnyRangeEqualTheRecords() throws Exception {
        UsageRecords records = new UsageRecords(dataSource);
        UUID a = UUID.fromString(Tollgate.createAccount("month a"));
        UUID b = UUID.fromString(Tollgate.createAccount("month b"));
        // 2005 is a year no other test writes.
        records.record(a, "jan3", HAIKU, null, "2005-01-03T10:00:00Z", 10, 1_000, 900);
        records.record(a, "jan20", SONNET, UPSTREAM_B, "2005-01-20T07:30:00Z", 20, 2_000, 1_500);
        records.record(a, "jan31", HAIKU, null, "2005-01-31T23:30:00Z", 30, 3_000, 2_000);
        records.record(a, "feb1", HAIKU, null, "2005-02-01T00:00:00Z", 40, 4_000, 3_000);
        records.record(a, "feb14", SONNET, null, "2005-02-14T12:00:00Z", 50, 5_000, null);
        records.record(a, "mar2", SONNET, UPSTREAM_B, "2005-03-02T05:00:00Z", 60, 6_000, 5_000);
        records.record(b, "jan10", SONNET, UPSTREAM_B, "2005-01-10T00:00:00Z", 70, 7_000, 6_000);
        records.record(b, "feb1", SONNET, UPSTREAM_B, "2005-02-01T12:00:00Z", 80, 8_000, 7_000);
        records.record(b, "feb28", HAIKU, null, "2005-02-28T23:59:59Z", 90, 9_000, 8_000);
        records.record(b, "apr1", HAIKU, null, "2005-04-01T01:00:00Z", 100, 10_000, 9_000);

        assertReportsEqualTheRecords(records, "before the roll-up");
        rollUp();
        records.assertRollUpsEqualTheHoursTheyHold();
        assertReportsEqualTheRecords(records, "rolled");

        // Changes to rolled days, as late settlements make: one inside most ranges, one moving a record
        // to another model and upstream (its old combination's rows go down), one on a month's first day.
        assertEquals(1, records.update("cost = 2500, input_tokens = 25", a + "-jan20"));
        assertEquals(1, records.update("model = '" + HAIKU + "', upstream_id = NULL, cost = 7700", b + "-jan10"));
        assertEquals(1, records.update("cost = 4100, upstream_cost = 4000", a + "-feb1"));
        assertReportsEqualTheRecords(records, "changed, not rolled again");
        rollUp();
        records.assertRollUpsEqualTheHoursTheyHold();
        assertReportsEqualTheRecords(records, "changed and rolled again");

        // A record written into a rolled month's days without usage, after its last one.
        records.record(b, "jan25", HAIKU, UPSTREAM_B, "2005-01-25T15:00:00Z", 110, 11_000, 10_000);
        records.record(a, "mar30", HAIKU, null, "2005-03-30T20:00:00Z", 120, 12_000, 11_000);
        assertReportsEqualTheRecords(records, "written late, not rolled");
        rollUp();
        records.assertRollUpsEqualTheHoursTheyHold();
        assertReportsEqualTheRecords(records, "written late and rolled");
    }

    private static void assertReportsEqualTheRecords(UsageRecords records, String when) throws SQLException {
        for (String[] range : new String[][] {
                {"2005-01-01", "2005-02-01"}, {"2005-01-04", "2005-02-15"}, {"2005-01-20T05:00:00Z", "2005-03-02T06:00:00Z"},
                {"2005-01-31", "2005-02-02"}, {"2005-02-01", "2005-03-01"}, {"2004-12-30", "2005-04-02"},
                {"2005-01-21", "2005-01-30"}, {"2005-02-01T12:00:00Z", "2005-02-01T13:00:00Z"},
                {"2005-01-11T01:00:00Z", "2005-03-31T23:00:00Z"}, {"2005-02-02", "2005-02-28"}}) {
            long[] expected = records.sums(range[0], range[1]);
            Map<String, String> byAccount = records.sumsByAccount(range[0], range[1]);
            for (String groupBy : new String[] {"account", "key", "account,key", "key,account", "account,model",
                    "upstream,key", "account,upstream"}) {
                JsonPath report = report(range[0], range[1], groupBy);
                String where = Arrays.toString(range) + " by " + groupBy + ", " + when;
                assertEquals(expected[0], report.getLong("totals.calls"), where);
                assertEquals(expected[1], report.getLong("totals.input_tokens"), where);
                assertEquals(expected[2], nanos(report.getString("totals.cost_usd")), where);
                assertEquals(expected[3], nanos(report.getString("totals.upstream_cost_usd")), where);
                Map<String, long[]> rows = new HashMap<>();
                for (Map<String, Object> row : report.<Map<String, Object>>getList("data")) {
                    String account = String.valueOf(row.getOrDefault("account_id", "all"));
                    long[] sum = rows.computeIfAbsent(account, x -> new long[4]);
                    sum[0] += ((Number) row.get("calls")).longValue();
                    sum[1] += ((Number) row.get("input_tokens")).longValue();
                    sum[2] += nanos((String) row.get("cost_usd"));
                    sum[3] += nanos((String) row.get("upstream_cost_usd"));
                    assertTrue(((Number) row.get("calls")).longValue() > 0, where + ": a row without calls");
                }
                if (groupBy.startsWith("account")) {
                    Map<String, String> got = new HashMap<>();
                    rows.forEach((account, s) -> got.put(account, s[0] + "/" + s[1] + "/" + s[2] + "/" + s[3]));
                    assertEquals(byAccount, got, where);
                }
            }
        }
        // the same through the day roll-up, for comparison
        assertEquals(records.sums("2005-01-04", "2005-02-15")[0],
                report("2005-01-04", "2005-02-15", "account,day").getList("data.calls", Integer.class).stream()
                        .mapToLong(Integer::longValue).sum());
        assertTrue(report("2005-01-01", "2005-05-01", "account").getList("data.account_name")
                .containsAll(List.of("month a", "month b")));
    }
}
