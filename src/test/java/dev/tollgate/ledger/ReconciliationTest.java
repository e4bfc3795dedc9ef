package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reconciliation reads the ledger from its checkpoints plus the later entries and the usage records
 * from the roll-ups, so it stays bounded for any account, and still fails when ledger and records
 * disagree, whether the difference is in the checkpointed part, the tail, a rolled day or an hour
 * not rolled yet.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ReconciliationTest {

    @Inject
    AgroalDataSource dataSource;

    @Test
    void checkpointedAndRolledUpTotalsStillReconcileAndStillCatchAMismatch() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        FakeUpstreamResource.fake().enqueue(Scenario.reply("Hi").usage(Usage.of(1000, 500)));
        client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 100, "Hi")).post("/v1/messages")
                .then().statusCode(200);
        assertReconciled(acct[0]);

        // An adjustment an hour old (with its running total): the checkpoint takes it and every
        // entry before it, and the account still reconciles.
        sql("UPDATE accounts SET balance = balance + 5000 WHERE id = '" + acct[0] + "'",
                "INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, note, created_at)"
                        + " VALUES ('" + acct[0] + "', 'adjustment', 5000, 0, 'back-dated', now() - interval '1 hour')");
        rollUp();
        assertEquals(1L, count("SELECT count(*) FROM ledger_checkpoints WHERE account_id = '" + acct[0] + "'"));
        assertTrue(count("SELECT up_to_id FROM ledger_checkpoint_state")
                >= count("SELECT max(id) FROM ledger_entries WHERE account_id = '" + acct[0] + "'"));
        assertReconciled(acct[0]);

        // A settlement in the ledger without its usage record, inside the checkpoint: caught.
        sql("UPDATE accounts SET balance = balance - 777 WHERE id = '" + acct[0] + "'",
                "INSERT INTO ledger_entries (account_id, kind, balance_delta, held_delta, request_id, created_at)"
                        + " VALUES ('" + acct[0] + "', 'settlement', -777, 0, 'req_unrecorded', now() - interval '1 hour')");
        rollUp();
        JsonPath r = reconciliation(acct[0]);
        assertFalse(r.getBoolean("consistent"), r.prettify());
        assertEquals(r.getString("balance_usd"), r.getString("entries_balance_usd"));

        // A usage record without its settlement, on a rolled day, then in the hour not rolled yet.
        String other = Tollgate.fundedAccount("10")[0];
        assertReconciled(other);
        sql("INSERT INTO usage_records (request_id, account_id, model, cost, status, http_status, stream, endpoint,"
                + " latency_ms, created_at) VALUES ('req_unbilled_" + other + "', '" + other + "', 'claude-haiku-4-5-20251001',"
                + " 1234, 'ok', 200, false, '/v1/messages', 1, '2005-05-05T05:00:00Z')",
                "SELECT tg_usage_rewritten('2005-05-05T05:00:00Z', '2005-05-05T06:00:00Z')");
        assertFalse(reconciliation(other).getBoolean("consistent"));
        rollUp();
        assertEquals(1234L, count("SELECT sum(cost) FROM usage_daily WHERE account_id = '" + other + "'"));
        r = reconciliation(other);
        assertFalse(r.getBoolean("consistent"), r.prettify());
        assertEquals("0.000001234", r.getString("usage_cost_usd"));

        String third = Tollgate.fundedAccount("10")[0];
        sql("INSERT INTO usage_records (request_id, account_id, model, cost, status, http_status, stream, endpoint,"
                + " latency_ms) VALUES ('req_unbilled_" + third + "', '" + third + "', 'claude-haiku-4-5-20251001',"
                + " 1, 'ok', 200, false, '/v1/messages', 1)");
        assertFalse(reconciliation(third).getBoolean("consistent"));
    }

    private static JsonPath reconciliation(String account) {
        return admin().get("/admin/v1/accounts/" + account + "/reconciliation").then().statusCode(200)
                .extract().jsonPath();
    }

    /** Runs the roll-up job until it has nothing left (waiting out an instance's timer holding it). */
    private static void rollUp() throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            JsonPath pass = admin().post("/admin/v1/maintenance/rollups").then().statusCode(200).extract().jsonPath();
            if (!pass.getBoolean("busy") && pass.getLong("hours_rolled") == 0 && pass.getLong("ledger_entries_added") == 0) {
                return;
            }
            Thread.sleep(pass.getBoolean("busy") ? 100 : 0);
        }
        throw new AssertionError("the roll-up job never finished");
    }

    private void sql(String... statements) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            for (String s : statements) {
                try (PreparedStatement ps = c.prepareStatement(s)) {
                    ps.execute();
                }
            }
            c.commit();
        }
    }

    private long count(String sql) throws SQLException {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
