package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.held;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reserves (the production default; the other tests hold every call in the database): a busy
 * account's calls are admitted from one reserve hold, each still settled into its own usage record
 * and ledger entry, and the ledger reconciles at every moment, reserve open or returned.
 */
@QuarkusTest
@TestProfile(ReservesTest.WithReserves.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ReservesTest {

    public static class WithReserves implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // A short validity, so renewal and return happen within a test.
            return Map.of("tollgate.holds.reserve-calls", "64", "tollgate.keys.cache-ttl", "300ms");
        }
    }

    static final String BODY = messageBody("claude-haiku-4-5", 10, "How are you today?");
    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    AgroalDataSource dataSource;

    @Inject
    HoldReaper reaper;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void aBusyAccountsCallsComeOutOfOneReserveAndEachIsSettled() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        for (int i = 0; i < 20; i++) {
            client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        }
        assertEquals(20, fake.messageCalls());
        assertEquals(List.of("reserve pending"), holds(acct[0]), "no hold of their own, one reserve");
        assertConsistent(acct[0]);
        assertTrue(held(acct[0]).signum() > 0, "the reserve stays while the account is busy");
        Response usage = Tollgate.usage(acct[0]);
        assertEquals(20, usage.jsonPath().getList("data").size());
        BigDecimal charged = BigDecimal.ZERO;
        for (Object cost : usage.jsonPath().getList("data.cost_usd")) {
            charged = charged.add(new BigDecimal((String) cost));
        }
        assertEquals(0, new BigDecimal("10").subtract(charged).compareTo(balance(acct[0])), "every call is charged");

        Tollgate.awaitNothingHeld(acct[0]);
        assertEquals(List.of("reserve released"), holds(acct[0]));
        assertReconciled(acct[0]);
    }

    @Test
    void concurrentCallsOnAReserveAreAllSettledExactlyOnce() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        int calls = 40;
        assertEquals(java.util.Collections.nCopies(calls, 200), Tollgate.callConcurrently(acct[1], BODY, calls));
        assertConsistent(acct[0]);
        Tollgate.awaitNothingHeld(acct[0]);
        assertEquals(calls, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

    @Test
    void aSmallBalanceIsHeldCallByCall() throws Exception {
        String[] acct = Tollgate.fundedAccount("0.01");
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        assertEquals(List.of("call settled"), holds(acct[0]), "too little for a reserve of 64 calls");
        assertReconciled(acct[0]);
    }

    @Test
    void aKeyWithLimitsIsAdmittedCallByCall() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        String keyId = admin().get("/admin/v1/accounts/" + acct[0] + "/keys").then().statusCode(200)
                .extract().path("data[0].id");
        admin().body(Map.of("requests_per_minute", 2)).patch("/admin/v1/keys/" + keyId).then().statusCode(200);
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(429);
        assertEquals(List.of("call settled", "call settled"), holds(acct[0]));
        assertReconciled(acct[0]);
    }

    @Test
    void aLimitSetOnTheAccountStopsItsReserveAtOnce() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        for (int i = 0; i < 3; i++) {
            client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        }
        admin().body(Map.of("requests_per_minute", 3)).patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        // From the reserve this call would pass; held by tg_hold it counts the three before it.
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(429);
        assertEquals(List.of("reserve pending"), holds(acct[0]));
        assertEquals(3, fake.messageCalls());
        Tollgate.awaitNothingHeld(acct[0]);
        assertReconciled(acct[0]);
    }

    @Test
    void aDebitThatLeavesTheReserveUncoveredRevokesIt() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        for (int i = 0; i < 5; i++) {
            client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        }
        assertEquals(List.of("reserve pending"), holds(acct[0]));
        BigDecimal balance = balance(acct[0]);
        Tollgate.admin().body(Map.of("amount_usd", balance.negate().toPlainString(), "note", "refund"))
                .post("/admin/v1/accounts/" + acct[0] + "/adjustments").then().statusCode(201)
                .body("reserves_revoked", org.hamcrest.Matchers.equalTo(1))
                .body("balance_usd", org.hamcrest.Matchers.equalTo("0.000000000"));
        // This instance admits nothing more from it, at once; the database holds nothing for it.
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(402);
        assertEquals(List.of("reserve released"), holds(acct[0]));
        assertEquals(0, balance(acct[0]).signum(), "nothing was spent after the debit");
        assertReconciled(acct[0]);
    }

    @Test
    void aReservesReapedByTheReaperIsReplacedAndNothingIsLost() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE holds SET expires_at = now() - interval '1 second' WHERE account_id = ? AND reserve")) {
            ps.setObject(1, UUID.fromString(acct[0]));
            assertEquals(1, ps.executeUpdate());
        }
        assertEquals(1, reaper.reap());
        assertEquals(0, held(acct[0]).signum(), "the reaper returned the reserve");
        Thread.sleep(400); // past the reserve's validity: the next call renews it and finds it gone
        client(acct[1]).body(BODY).post("/v1/messages").then().statusCode(200);
        assertEquals(List.of("reserve expired", "reserve pending"), holds(acct[0]));
        assertConsistent(acct[0]);
        Tollgate.awaitNothingHeld(acct[0]);
        assertEquals(2, Tollgate.usage(acct[0]).jsonPath().getList("data").size(), "no call record for a reserve");
        assertReconciled(acct[0]);
    }

    /** The account's holds as "reserve|call state", oldest first. */
    private List<String> holds(String account) throws Exception {
        List<String> holds = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT CASE WHEN reserve THEN 'reserve' ELSE 'call' END || ' ' || state FROM holds"
                        + " WHERE account_id = ? ORDER BY created_at, reserve")) {
            ps.setObject(1, UUID.fromString(account));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    holds.add(rs.getString(1));
                }
            }
        }
        return holds;
    }

    private static void assertConsistent(String account) {
        Response r = admin().get("/admin/v1/accounts/" + account + "/reconciliation").then().statusCode(200)
                .extract().response();
        assertTrue(r.<Boolean>path("consistent"), () -> "ledger inconsistent: " + r.asString());
    }

}
