package dev.tollgate.keys;

import dev.tollgate.api.ApiException;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/** The key cache re-reads a key in use before its entry expires, within the same staleness bound. */
@QuarkusTest
@TestProfile(KeyCacheRefreshTest.OneSecondTtl.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class KeyCacheRefreshTest {

    public static class OneSecondTtl implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.keys.cache-ttl", "1s");
        }
    }

    private static final java.util.function.Supplier<String> LOCAL = () -> "127.0.0.1";

    @Inject
    ApiKeyService keys;

    @Inject
    AgroalDataSource dataSource;

    @Test
    void aKeyInUseNeverGoesStale() throws Exception {
        String key = Tollgate.fundedAccount("1")[1];
        assertNotNull(keys.authenticate(key, LOCAL));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < until) {
            // Stale would mean the next call waits for the database (and leaves the event loop).
            assertNotNull(keys.authenticateCached(key, LOCAL), "the cached entry of a key in use expired");
            Thread.sleep(50);
        }
    }

    @Test
    void aRevocationBehindTheCachesBackStillTakesEffectWithinTheTtl() throws Exception {
        String[] account = Tollgate.fundedAccount("1");
        assertNotNull(keys.authenticate(account[1], LOCAL));
        Thread.sleep(500); // half-way through the entry's life
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE api_keys SET revoked_at = now() WHERE account_id = ?")) {
            ps.setObject(1, UUID.fromString(account[0]));
            assertEquals(1, ps.executeUpdate());
        }
        long revoked = System.nanoTime();
        while (System.nanoTime() - revoked < TimeUnit.SECONDS.toNanos(3)) {
            try {
                keys.authenticate(account[1], LOCAL);
            } catch (ApiException e) {
                assertEquals(401, e.status());
                long seenAfter = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revoked);
                if (seenAfter > 1_000) {
                    fail("the revocation took " + seenAfter + " ms to be seen; the TTL is 1 s");
                }
                return;
            }
            Thread.sleep(20);
        }
        fail("a revoked key still authenticates 3 s later");
    }
}
