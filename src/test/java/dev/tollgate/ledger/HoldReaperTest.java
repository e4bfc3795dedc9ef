package dev.tollgate.ledger;

import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.TokenUsage;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Crash recovery: expired holds are released once, and a late settlement still charges exactly once. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class HoldReaperTest {

    @Inject
    LedgerStore ledger;

    @Inject
    HoldReaper reaper;

    @Inject
    AgroalDataSource dataSource;

    @Test
    void expiredHoldIsReleasedAndRecordedAsAbandoned() {
        String account = Tollgate.createAccount("crashed instance");
        Tollgate.topup(account, "1");
        UUID id = UUID.fromString(account);
        ledger.hold(id, 400_000_000L, 1000, new LedgerStore.CallInfo("req_dead", null, "claude-haiku-4-5-20251001",
                "/v1/messages", true), Duration.ZERO, false);
        assertEquals(0, new BigDecimal("0.4").compareTo(Tollgate.held(account)));

        reaper.reap();
        assertEquals(0, Tollgate.held(account).signum());
        Response usage = Tollgate.usage(account);
        assertEquals("abandoned", usage.path("data[0].status"));
        assertEquals("req_dead", usage.path("data[0].request_id"));
        assertEquals(0, reaper.reap(), "a released hold is never released twice");
        assertEquals(0, BigDecimal.ONE.compareTo(Tollgate.balance(account)));
        assertReconciled(account);
    }

    @Test
    void settlementAfterTheReaperChargesOnce() {
        String account = Tollgate.createAccount("slow instance");
        Tollgate.topup(account, "1");
        UUID id = UUID.fromString(account);
        Hold hold = ledger.hold(id, 500_000_000L, 1000, new LedgerStore.CallInfo("req_late", null,
                "claude-haiku-4-5-20251001", "/v1/messages", false), Duration.ZERO, false).hold();
        reaper.reap();
        ledger.settle(hold, new CallRecord("req_late", id, null, "claude-haiku-4-5-20251001", TokenUsage.of(100, 10),
                150_000L, CallRecord.Status.OK, 200, false, "/v1/messages", 5, null, null, null, null, null, 1), 110).join();
        assertEquals(0, new BigDecimal("0.99985").compareTo(Tollgate.balance(account)));
        Response usage = Tollgate.usage(account);
        assertEquals(1, usage.jsonPath().getList("data").size());
        assertEquals("ok", usage.path("data[0].status"));
        assertEquals("0.000150000", usage.path("data[0].cost_usd"));
        assertReconciled(account);
    }

    /**
     * tg_settle_batch inserts the records of calls settled on time plainly and those of late calls
     * with ON CONFLICT (V7): in one batch, a late call must replace its abandoned record and an
     * on-time call must get its own, each counted once in the hourly roll-up.
     */
    @Test
    void oneBatchSettlesALateAndAnOnTimeCall() throws SQLException {
        String account = Tollgate.createAccount("mixed batch");
        Tollgate.topup(account, "1");
        UUID id = UUID.fromString(account);
        String late = "req_mixed_late_" + UUID.randomUUID();
        String onTime = "req_mixed_on_time_" + UUID.randomUUID();
        Hold expired = ledger.hold(id, 500_000_000L, 1000, new LedgerStore.CallInfo(late, null,
                "claude-haiku-4-5-20251001", "/v1/messages", false), Duration.ZERO, false).hold();
        reaper.reap();
        Hold pending = ledger.hold(id, 500_000_000L, 1000, new LedgerStore.CallInfo(onTime, null,
                "claude-haiku-4-5-20251001", "/v1/messages", false), Duration.ofMinutes(5), false).hold();

        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT tg_settle_batch(ARRAY[?, ?]::uuid[], ARRAY[?, ?]::uuid[], '{150000,250000}', '{NULL,NULL}',
                    '{110,220}', ARRAY[?, ?], '{NULL,NULL}', '{claude-haiku-4-5-20251001,claude-haiku-4-5-20251001}',
                    '{100,200}', '{10,20}', '{0,0}', '{0,0}', '{0,0}', '{0,0}', '{ok,ok}', '{200,200}', '{false,false}',
                    '{/v1/messages,/v1/messages}', '{5,5}', '{NULL,NULL}', '{NULL,NULL}', '{NULL,NULL}', '{NULL,NULL}',
                    '{NULL,NULL}', '{1,1}', false)""")) {
            ps.setObject(1, expired.id());
            ps.setObject(2, pending.id());
            ps.setObject(3, id);
            ps.setObject(4, id);
            ps.setString(5, late);
            ps.setString(6, onTime);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Array lateItems = rs.getArray(1);
                assertEquals(List.of(1), List.of((Integer[]) lateItems.getArray()), "the first item was late");
            }
        }

        assertEquals(List.of(List.of(late, "ok", 100L), List.of(onTime, "ok", 200L)), records(id));
        assertEquals(List.of(2L, 300L, 400_000L), hourlyTotals(id), "requests, input tokens, cost in the roll-up");
        assertEquals(0, new BigDecimal("0.9996").compareTo(Tollgate.balance(account)));
        assertReconciled(account);
    }

    private List<List<Object>> records(UUID account) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT request_id, status, input_tokens FROM usage_records WHERE account_id = ?"
                        + " ORDER BY input_tokens")) {
            ps.setObject(1, account);
            try (ResultSet rs = ps.executeQuery()) {
                List<List<Object>> rows = new java.util.ArrayList<>();
                while (rs.next()) {
                    rows.add(List.of(rs.getString(1), rs.getString(2), rs.getLong(3)));
                }
                return rows;
            }
        }
    }

    private List<Long> hourlyTotals(UUID account) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT sum(requests)::bigint, sum(input_tokens)::bigint, sum(cost)::bigint FROM usage_hourly"
                        + " WHERE account_id = ?")) {
            ps.setObject(1, account);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return List.of(rs.getLong(1), rs.getLong(2), rs.getLong(3));
            }
        }
    }
}
