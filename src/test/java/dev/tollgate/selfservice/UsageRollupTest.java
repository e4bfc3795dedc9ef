package dev.tollgate.selfservice;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;

import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Self-service totals read whole hours from usage_hourly and the partial hours at a range's edges
 * from the records: whatever the range, they must equal the sum of the records in it, and the
 * roll-ups must follow records that are inserted or replaced (a late settlement).
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UsageRollupTest {

    @Inject
    AgroalDataSource dataSource;

    @Test
    void totalsOverAnyRangeEqualTheSumOfItsRecords() throws SQLException {
        String[] acct = Tollgate.fundedAccount("5");
        UUID account = UUID.fromString(acct[0]);
        UUID key = Tollgate.newestKeyId(account.toString());
        String day = "2025-03-04T";
        // Records around two hour boundaries, one on a boundary, one without a key; cost = 1000 x tokens.
        record(account, key, "a", day + "10:20:00Z", 1);
        record(account, key, "b", day + "10:59:59.999Z", 2);
        record(account, key, "c", day + "11:00:00Z", 4);
        record(account, null, "d", day + "11:30:00Z", 8);
        record(account, key, "e", day + "12:10:00Z", 16);
        record(account, key, "f", day + "13:45:00Z", 32);
        // A late settlement replaces an abandoned call's record in place (tg_settle_batch's ON CONFLICT).
        record(account, key, "c", day + "11:00:00Z", 64);

        List<String[]> ranges = List.of(
                new String[]{day + "00:00:00Z", day + "23:00:00Z"},   // whole hours only
                new String[]{day + "10:30:00Z", day + "12:15:00Z"},   // partial hours at both edges
                new String[]{day + "10:59:59.999Z", day + "11:00:00Z"}, // inside one hour
                new String[]{day + "11:00:00Z", day + "11:30:00Z"},   // from a boundary into the hour
                new String[]{day + "11:15:00Z", day + "11:45:00Z"},   // inside one hour, neither edge whole
                new String[]{day + "12:00:00Z", day + "12:00:00Z"},   // empty
                new String[]{day + "10:20:00.001Z", "9999-01-01T00:00:00Z"});
        for (String[] r : ranges) {
            Response usage = client(acct[1]).get("/v1/me/usage?limit=1&from=" + r[0] + "&to=" + r[1])
                    .then().statusCode(200).extract().response();
            long[] expected = sumOfRecords(account, r[0], r[1]);
            assertEquals(expected[0], ((Number) usage.path("totals.requests")).longValue(), "requests in " + r[0] + " .. " + r[1]);
            assertEquals(expected[1], ((Number) usage.path("totals.input_tokens")).longValue(), "tokens in " + r[0] + " .. " + r[1]);
        }
        // 10:00 a+b, 11:00 c (replaced: 64, not 4) + d, 12:00 e, 13:00 f.
        assertEquals(List.of(List.of(2L, 3L), List.of(2L, 72L), List.of(1L, 16L), List.of(1L, 32L)), hours(account, day),
                "per hour: requests and input tokens");
    }

    /**
     * The page query after the JDBC driver has prepared it, when PostgreSQL may plan it once for
     * any range: an index in the page's order must serve it, with no sort of the account's records.
     */
    @Test
    void theUsagePageNeedsNoSortUnderAGenericPlan() throws SQLException {
        StringBuilder plan = new StringBuilder();
        try (Connection c = dataSource.getConnection(); java.sql.Statement st = c.createStatement()) {
            st.execute("SET plan_cache_mode = force_generic_plan");
            st.execute("SET enable_seqscan = off"); // the test table is small; the question is the index
            st.execute("""
                    PREPARE page(uuid, timestamptz, timestamptz, int) AS
                    SELECT id FROM usage_records WHERE account_id = $1 AND created_at >= $2 AND created_at < $3
                    ORDER BY created_at DESC, id DESC LIMIT $4""");
            try (ResultSet rs = st.executeQuery("EXPLAIN EXECUTE page('" + UUID.randomUUID()
                    + "', '2026-11-01', '9999-12-31', 50)")) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            } finally {
                st.execute("DEALLOCATE page");
                st.execute("RESET plan_cache_mode");
                st.execute("RESET enable_seqscan");
            }
        }
        String text = plan.toString();
        assertTrue(text.contains("usage_records_account_page"), text);
        assertFalse(text.contains("Sort"), text);
    }

    private void record(UUID account, UUID key, String request, String at, long tokens) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                INSERT INTO usage_records (request_id, account_id, key_id, model, input_tokens, cost, status,
                                           http_status, stream, endpoint, latency_ms, created_at)
                VALUES (?, ?, ?, 'claude-haiku-4-5-20251001', ?, ?, 'ok', 200, false, '/v1/messages', 1, ?::timestamptz)
                ON CONFLICT (request_id) DO UPDATE SET input_tokens = EXCLUDED.input_tokens, cost = EXCLUDED.cost
                """)) {
            ps.setString(1, account + "-" + request);
            ps.setObject(2, account);
            ps.setObject(3, key);
            ps.setLong(4, tokens);
            ps.setLong(5, tokens * 1000);
            ps.setString(6, at);
            ps.executeUpdate();
        }
    }

    private long[] sumOfRecords(UUID account, String from, String to) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT count(*), coalesce(sum(input_tokens), 0) FROM usage_records
                WHERE account_id = ? AND created_at >= ?::timestamptz AND created_at < ?::timestamptz
                """)) {
            ps.setObject(1, account);
            ps.setString(2, from);
            ps.setString(3, to);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return new long[]{rs.getLong(1), rs.getLong(2)};
            }
        }
    }

    /** The account's roll-up rows of that day, summed over keys per hour: [requests, input tokens]. */
    private List<List<Long>> hours(UUID account, String day) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT sum(requests)::bigint, sum(input_tokens)::bigint FROM usage_hourly
                WHERE account_id = ? AND hour >= ?::timestamptz AND hour < ?::timestamptz + interval '1 day'
                GROUP BY hour ORDER BY hour
                """)) {
            ps.setObject(1, account);
            ps.setString(2, day + "00:00:00Z");
            ps.setString(3, day + "00:00:00Z");
            try (ResultSet rs = ps.executeQuery()) {
                List<List<Long>> rows = new java.util.ArrayList<>();
                while (rs.next()) {
                    rows.add(List.of(rs.getLong(1), rs.getLong(2)));
                }
                return rows;
            }
        }
    }
}
