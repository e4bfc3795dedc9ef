package dev.tollgate.ledger;

import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.TokenUsage;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
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
                150_000L, CallRecord.Status.OK, 200, false, "/v1/messages", 5, null, null, null), 110).join();
        assertEquals(0, new BigDecimal("0.99985").compareTo(Tollgate.balance(account)));
        Response usage = Tollgate.usage(account);
        assertEquals(1, usage.jsonPath().getList("data").size());
        assertEquals("ok", usage.path("data[0].status"));
        assertEquals("0.000150000", usage.path("data[0].cost_usd"));
        assertReconciled(account);
    }
}
