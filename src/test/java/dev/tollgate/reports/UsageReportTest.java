package dev.tollgate.reports;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.reports.UsageRecords.nanos;
import static dev.tollgate.reports.UsageRecords.report;
import static dev.tollgate.reports.UsageRecords.rollUp;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /admin/v1/reports/usage}: summed from the roll-ups (hours not rolled yet, rolled hours
 * and days, hours changed after they were rolled), and equal to the sums of the usage records over
 * the same range, whatever the grouping, in JSON and CSV.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UsageReportTest {

    static final UUID UPSTREAM_A = UUID.fromString("0a0a0a0a-0000-0000-0000-00000000000a");

    @Inject
    AgroalDataSource dataSource;

    private UsageRecords records;

    @BeforeEach
    void records() {
        records = new UsageRecords(dataSource);
    }

    /** Records at chosen times (a day no other test writes): the report's totals equal their sums for every range. */
    @Test
    void totalsEqualTheRecordsOfTheRange() throws Exception {
        UUID a = UUID.fromString(Tollgate.createAccount("report a"));
        UUID b = UUID.fromString(Tollgate.createAccount("report b"));
        records.record(a, "r1", "claude-haiku-4-5-20251001", null, "2003-03-05T10:15:00Z", 100, 1_000, 800);
        records.record(a, "r2", "claude-haiku-4-5-20251001", UPSTREAM_A, "2003-03-05T10:59:59.999999Z", 200, 2_000, 1_500);
        records.record(a, "r3", "claude-sonnet-4-6", UPSTREAM_A, "2003-03-05T11:00:00Z", 300, 3_333, 3_000);
        records.record(b, "r4", "claude-sonnet-4-6", new UUID(0, 0), "2003-03-05T23:30:00Z", 400, 4_444, 4_444);
        records.record(b, "r5", "claude-opus-4-6", null, "2003-03-06T00:00:00Z", 500, 5_555, 5_000);
        // A record from before plans: no upstream cost, which is then its cost.
        records.record(b, "r6", "claude-opus-4-6", UPSTREAM_A, "2003-03-06T05:00:00Z", 600, 6_000, null);
        records.record(b, "r7", "claude-haiku-4-5-20251001", null, "2003-03-07T00:30:00Z", 700, 7_000, 6_000);

        // Before the roll-up job (usage_hourly alone), then from the rolled hours and days.
        assertReportsEqualTheRecords();
        rollUp();
        assertEquals(3L, records.count("SELECT count(DISTINCT day) FROM usage_daily WHERE account_id IN ('" + a + "', '" + b + "')"));
        assertEquals(0L, records.count("SELECT count(*) FROM usage_rollup_dirty WHERE hour < '2003-03-08'"));
        assertReportsEqualTheRecords();

        // A rolled hour changed in place (a late settlement): read from usage_hourly until rolled again.
        assertEquals(1, records.update("cost = 4500, input_tokens = 450", b + "-r4"));
        assertReportsEqualTheRecords();
        rollUp();
        assertEquals(0L, records.count("SELECT count(*) FROM usage_rollup_dirty WHERE hour < '2003-03-08'"));
        assertReportsEqualTheRecords();
        assertEquals(1, records.update("cost = 4444, input_tokens = 400", b + "-r4"));
        rollUp();

        JsonPath byDayAndModel = report("2003-03-05", "2003-03-07", "day,model");
        assertEquals(List.of("2003-03-05", "2003-03-05", "2003-03-06"), byDayAndModel.getList("data.day"));
        assertEquals(List.of("claude-haiku-4-5-20251001", "claude-sonnet-4-6", "claude-opus-4-6"),
                byDayAndModel.getList("data.model"));
        assertEquals(List.of(2, 2, 2), byDayAndModel.getList("data.calls"));
        assertEquals(List.of("0.000003000", "0.000007777", "0.000011555"), byDayAndModel.getList("data.cost_usd"));
        assertEquals(List.of("0.000000700", "0.000000333", "0.000000555"), byDayAndModel.getList("data.margin_usd"));

        JsonPath byUpstream = report("2003-03-05T10:00:00Z", "2003-03-05T11:00:00Z", "upstream");
        assertEquals(Arrays.asList(UPSTREAM_A.toString(), null), byUpstream.getList("data.upstream_id"));
        JsonPath byAccount = report("2003-03-05", "2003-03-07", "account,upstream");
        assertTrue(byAccount.getList("data.account_name").containsAll(List.of("report a", "report b")));
        assertTrue(byAccount.getList("data.upstream_name").contains("default"));
        assertNull(report("2003-03-05", "2003-03-07", "key").getList("data.key_id").get(0));
    }

    /** Ranges of hours, of whole days and of both, in every grouping: totals and rows sum to the records'. */
    private void assertReportsEqualTheRecords() throws SQLException {
        for (String[] range : new String[][] {
                {"2003-03-05", "2003-03-07"}, {"2003-03-05T10:00:00Z", "2003-03-05T11:00:00Z"},
                {"2003-03-05T11:00:00Z", "2003-03-06T01:00:00Z"}, {"2003-03-06T00:00:00Z", "2003-03-06T06:00:00Z"},
                {"2003-03-04T22:00:00Z", "2003-03-07T01:00:00Z"}, {"2003-03-05T11:00:00Z", "2003-03-08"}}) {
            long[] expected = records.sums(range[0], range[1]);
            for (String groupBy : new String[] {"", "day", "hour", "model", "account", "key", "upstream", "day,model",
                    "account,upstream", "model,hour", "account,hour", "key,day", "account,model", "upstream,key"}) {
                JsonPath report = report(range[0], range[1], groupBy);
                JsonPath totals = report.setRootPath("totals");
                String where = Arrays.toString(range) + " by " + groupBy;
                assertEquals(expected[0], totals.getLong("calls"), where);
                assertEquals(expected[1], totals.getLong("input_tokens"), where);
                assertEquals(expected[2], nanos(totals.getString("cost_usd")), where);
                assertEquals(expected[3], nanos(totals.getString("upstream_cost_usd")), where);
                assertEquals(expected[2] - expected[3], nanos(totals.getString("margin_usd")), where);
                // and the rows sum to the totals
                JsonPath rows = report.setRootPath("");
                long calls = 0, cost = 0;
                for (Map<String, Object> row : rows.<Map<String, Object>>getList("data")) {
                    calls += ((Number) row.get("calls")).longValue();
                    cost += nanos((String) row.get("cost_usd"));
                }
                assertEquals(expected[0], calls, where);
                assertEquals(expected[2], cost, where);
            }
        }
    }

    /**
     * A record replaced in place (an abandoned call settled late) moves to its new upstream's row,
     * also once its hour and day were rolled: the report reads the changed hour until it is rolled again.
     */
    @Test
    void aLateSettlementMovesItsRecordInTheRollUp() throws Exception {
        UUID a = UUID.fromString(Tollgate.createAccount("report late"));
        records.record(a, "late", "claude-haiku-4-5-20251001", null, "2004-04-04T04:04:04Z", 0, 0, 0);
        records.record(a, "other", "claude-haiku-4-5-20251001", null, "2004-04-04T09:00:00Z", 10, 1000, 1000);
        rollUp();
        assertEquals(1, records.update("upstream_id = '" + UPSTREAM_A + "', input_tokens = 70, cost = 7000,"
                + " upstream_cost = 5000, status = 'ok'", a + "-late"));
        assertEquals(1L, records.count("SELECT count(*) FROM usage_rollup_dirty WHERE hour = '2004-04-04T04:00:00Z'"));
        for (int rolled = 0; rolled < 2; rolled++) {
            JsonPath report = report("2004-04-04T04:00:00Z", "2004-04-04T05:00:00Z", "upstream");
            assertEquals(List.of(UPSTREAM_A.toString()), report.getList("data.upstream_id"));
            assertEquals(List.of(1), report.getList("data.calls"));
            assertEquals("0.000002000", report.getString("totals.margin_usd"));
            for (String groupBy : new String[] {"upstream", "account", "key,model"}) {
                JsonPath day = report("2004-04-04", "2004-04-05", groupBy);
                long[] expected = records.sums("2004-04-04", "2004-04-05");
                assertEquals(expected[0], day.getLong("totals.calls"), groupBy);
                assertEquals(expected[2], nanos(day.getString("totals.cost_usd")), groupBy);
                assertEquals(expected[3], nanos(day.getString("totals.upstream_cost_usd")), groupBy);
            }
            rollUp();
        }
        assertEquals(0L, records.count("SELECT count(*) FROM usage_rollup_dirty WHERE hour = '2004-04-04T04:00:00Z'"));
        assertEquals(8000L, records.count("SELECT sum(cost) FROM usage_daily WHERE account_id = '" + a + "'"));
    }

    /**
     * Today's rolled hours are in today's day row (which grows hour by hour), the hours since in
     * usage_hourly: a range up to now counts each once, also after a change to a rolled hour of today.
     */
    @Test
    void theCurrentDaysRolledHoursCountOnce() throws Exception {
        UUID a = UUID.fromString(Tollgate.createAccount("report today"));
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
        records.record(a, "t1", "claude-haiku-4-5-20251001", null, hour.minus(3, ChronoUnit.HOURS).toString(), 10, 1_000, 900);
        records.record(a, "t2", "claude-sonnet-4-6", UPSTREAM_A, hour.minus(2, ChronoUnit.HOURS).plusSeconds(60).toString(), 20,
                2_000, 1_000);
        records.record(a, "t3", "claude-sonnet-4-6", null, Instant.now().toString(), 30, 3_000, 3_000);
        String from = hour.minus(26, ChronoUnit.HOURS).toString();
        String to = hour.plus(1, ChronoUnit.HOURS).toString();
        String today = hour.truncatedTo(ChronoUnit.DAYS).toString();
        for (int step = 0; step < 3; step++) {
            rollUp();
            for (String[] range : new String[][] {{from, to}, {today, to}}) {
                long[] expected = records.sums(range[0], range[1]);
                for (String groupBy : new String[] {"", "account", "key,day", "model"}) {
                    JsonPath report = report(range[0], range[1], groupBy);
                    String where = range[0] + " by " + groupBy + " at step " + step;
                    assertEquals(expected[0], report.getLong("totals.calls"), where);
                    assertEquals(expected[1], report.getLong("totals.input_tokens"), where);
                    assertEquals(expected[2], nanos(report.getString("totals.cost_usd")), where);
                }
            }
            if (step == 0) {
                assertEquals(1, records.update("cost = 2500, input_tokens = 25", a + "-t2"));
            }
        }
        records.assertRollUpsEqualTheHoursTheyHold();
    }

    /** Calls through the gateway under a plan: revenue, upstream cost and margin per account, JSON and CSV. */
    @Test
    void liveCallsUnderAPlanShowTheirMarginAsCsvToo() throws Exception {
        String plan = admin().body(Map.of("name", "report plan", "markup_percent", "25")).post("/admin/v1/plans")
                .then().statusCode(201).extract().path("id");
        String[] acct = Tollgate.fundedAccount("10");
        admin().body(Map.of("plan_id", plan)).patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        for (int i = 0; i < 3; i++) {
            FakeUpstreamResource.fake().enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)));
            client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 100, "Hi")).post("/v1/messages")
                    .then().statusCode(200);
        }
        assertReconciled(acct[0]);
        Instant hour = Instant.now().truncatedTo(ChronoUnit.HOURS);
        // A call may land just after the hour turned: take two hours.
        String from = hour.minus(1, ChronoUnit.HOURS).toString();
        String to = hour.plus(1, ChronoUnit.HOURS).toString();
        JsonPath report = report(from, to, "account");
        Map<String, Object> row = report.getMap("data.find { it.account_id == '" + acct[0] + "' }");
        assertEquals(3, row.get("calls"));
        assertEquals("0.022500000", row.get("cost_usd"));          // 3 x (1000 x 1 + 1000 x 5) x 1.25
        assertEquals("0.018000000", row.get("upstream_cost_usd"));
        assertEquals("0.004500000", row.get("margin_usd"));
        long[] expected = records.sums(from, to);
        assertEquals(expected[2], nanos(report.getString("totals.cost_usd")));

        String csv = admin().header("Accept", "text/csv").queryParam("from", from).queryParam("to", to)
                .queryParam("group_by", "account,model").get("/admin/v1/reports/usage")
                .then().statusCode(200).header("content-type", startsWith("text/csv")).extract().asString();
        List<String> lines = csv.lines().toList();
        assertEquals("account_id,account_name,model,calls,input_tokens,output_tokens,cache_creation_5m_input_tokens,"
                + "cache_creation_1h_input_tokens,cache_read_input_tokens,cost_usd,upstream_cost_usd,margin_usd", lines.get(0));
        String mine = lines.stream().filter(l -> l.startsWith(acct[0])).findFirst().orElseThrow();
        List<String> cells = Arrays.asList(mine.split(",", -1));
        assertEquals(12, cells.size(), mine);
        assertEquals(List.of("claude-haiku-4-5-20251001", "3", "3000", "3000", "0", "0", "0", "0.022500000",
                "0.018000000", "0.004500000"), cells.subList(2, 12));
        List<String> total = Arrays.asList(lines.get(lines.size() - 1).split(",", -1));
        assertEquals("total", total.get(0));
        assertEquals(expected[0], Long.parseLong(total.get(3)));
        assertEquals(expected[2], nanos(total.get(9)));
        assertEquals(lines.size() - 2, report(from, to, "account,model").getList("data").size());
        // format=csv does the same without the header
        String byFormat = admin().queryParam("from", from).queryParam("to", to).queryParam("group_by", "account,model")
                .queryParam("format", "csv").get("/admin/v1/reports/usage").then().statusCode(200).extract().asString();
        assertEquals(lines.get(0), byFormat.lines().findFirst().orElseThrow());
    }

    @Test
    void badInputIsRefusedNamingTheField() {
        String[][] cases = {
                {"from=2003-03-05T10:30:00Z&to=2003-03-06", "from:"},
                {"from=2003-03-05&to=2003-03-06T00:00:01Z", "to:"},
                {"to=2003-03-06", "from:"},
                {"from=2003-03-05", "to:"},
                {"from=yesterday&to=2003-03-06", "from:"},
                {"from=2003-03-06&to=2003-03-05", "to:"},
                {"from=2001-01-01&to=2003-01-01", "to:"},
                {"from=2003-03-05&to=2003-03-06&group_by=colour", "group_by:"},
                {"from=2003-03-05&to=2003-03-06&group_by=day,model,account", "group_by:"},
                {"from=2003-03-05&to=2003-03-06&group_by=day,day", "group_by:"},
                {"from=2003-03-05&to=2003-03-06&format=xml", "format:"},
        };
        for (String[] c : cases) {
            admin().get("/admin/v1/reports/usage?" + c[0]).then().statusCode(400).body(containsString(c[1]));
        }
        io.restassured.RestAssured.given().get("/admin/v1/reports/usage?from=2003-03-05&to=2003-03-06")
                .then().statusCode(401);
    }
}
