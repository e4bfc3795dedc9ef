package dev.tollgate.admin;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Idempotency keys are forgotten after their retention, both on the admin package's own timer and
 * by POST /admin/v1/maintenance/reap (Lambda's only maintenance), which also releases expired holds.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class IdempotencyExpiryTest {

    @Inject
    AgroalDataSource dataSource;

    @Test
    void theMaintenanceCallForgetsKeysOlderThanTheRetention() throws Exception {
        String account = Tollgate.createAccount("idempotency expiry");
        String key = "expiry-" + System.nanoTime();
        credit(account, key, false);
        credit(account, key, true);

        age(key, TopupService.IDEMPOTENCY_RETENTION.toHours() - 1);
        admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
        credit(account, key, true);

        age(key, TopupService.IDEMPOTENCY_RETENTION.toHours() + 1);
        admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
        credit(account, key, false);
        assertEquals(0, new BigDecimal("4").compareTo(Tollgate.balance(account)), "a forgotten key credits again");
        Tollgate.assertReconciled(account);
    }

    private static void credit(String account, String key, boolean replayed) {
        BigDecimal before = Tollgate.balance(account);
        admin().header("Idempotency-Key", key).body(Map.of("amount_usd", "2", "note", "expiry"))
                .post("/admin/v1/accounts/" + account + "/topups").then().statusCode(201);
        BigDecimal credited = Tollgate.balance(account).subtract(before);
        assertEquals(0, (replayed ? BigDecimal.ZERO : new BigDecimal("2")).compareTo(credited),
                replayed ? "replayed, so nothing credited" : "a new credit");
    }

    private void age(String key, long hours) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE idempotency_keys SET created_at = now() - make_interval(hours => ?) WHERE key = ?")) {
            ps.setInt(1, (int) hours);
            ps.setString(2, key);
            assertEquals(1, ps.executeUpdate());
        }
    }
}
