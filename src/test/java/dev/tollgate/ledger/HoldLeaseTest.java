package dev.tollgate.ledger;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A call that outlives its hold's TTL (a long generation, a slow reader) keeps its hold: its
 * instance renews it, so the reaper, run again and again meanwhile, releases nothing, and the
 * call's concurrency slot and money stay held until it settles.
 */
@QuarkusTest
@TestProfile(HoldLeaseTest.ShortTtl.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class HoldLeaseTest {

    public static class ShortTtl implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.holds.ttl", "2s", "tollgate.holds.renew-interval", "400ms");
        }
    }

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Test
    void aCallLongerThanTheTtlKeepsItsHoldWhileItsInstanceRenewsIt() throws Exception {
        String account = Tollgate.createAccount("long calls");
        Tollgate.topup(account, "0.05");
        String key = admin().body(Map.of("name", "one at a time", "max_concurrent", 1))
                .post("/admin/v1/accounts/" + account + "/keys").then().statusCode(201).extract().path("key");
        // Ten words, half a second apart: five seconds, two and a half TTLs.
        fake.enqueue(Scenario.reply("one two three four five six seven eight nine ten").deltaDelay(Duration.ofMillis(500)));
        String stream = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":100,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Count to ten, slowly\"}]}";
        CompletableFuture<Integer> longCall = CompletableFuture.supplyAsync(
                () -> client(key).body(stream).post("/v1/messages").statusCode());

        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(4000);
        Thread.sleep(500);
        while (System.nanoTime() < until) {
            int released = admin().post("/admin/v1/maintenance/reap").then().statusCode(200)
                    .extract().path("released_holds");
            assertEquals(0, released, "the reaper released the hold of a call still running");
            assertTrue(Tollgate.held(account).signum() > 0, "the running call's money is held");
            client(key).body(messageBody("claude-haiku-4-5", 10, "Meanwhile?")).post("/v1/messages")
                    .then().statusCode(429); // its one concurrency slot is still taken
            Thread.sleep(700);
        }
        assertEquals(200, longCall.get(20, TimeUnit.SECONDS));
        List<String> statuses = Tollgate.usage(account).jsonPath().getList("data.status");
        assertEquals(List.of("ok"), statuses, "the long call settled on time, not as abandoned");
        assertTrue(Tollgate.balance(account).compareTo(BigDecimal.ZERO) > 0);
        Tollgate.assertReconciled(account);
    }

    @Test
    void aHoldNobodyRenewsStillExpires() throws Exception {
        String account = Tollgate.createAccount("dead instance");
        Tollgate.topup(account, "1");
        try (var c = io.quarkus.arc.Arc.container().instance(io.agroal.api.AgroalDataSource.class).get().getConnection();
             var ps = c.prepareStatement("SELECT * FROM tg_hold_batch(ARRAY[gen_random_uuid()], ARRAY[?::uuid], '{NULL}',"
                     + " '{req_dead_instance}', '{m}', '{/v1/messages}', '{false}', '{1000}', '{1}', '{1}')")) {
            ps.setString(1, account); // a hold placed by an instance that died at once: nobody renews it
            ps.executeQuery().close();
        }
        Thread.sleep(1500);
        assertEquals(1, admin().post("/admin/v1/maintenance/reap").then().statusCode(200)
                .extract().<Integer>path("released_holds"));
        Tollgate.assertReconciled(account);
    }
}
