package dev.tollgate.plans;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Prices set through the admin API: stored, audited, in effect at once here and within seconds elsewhere. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class PricesTest {

    /** Known to the upstream (fake) but not in the built-in table. */
    static final String NEW_MODEL = "claude-mythos-preview";

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    AgroalDataSource dataSource;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static List<String> servedModels(String key) {
        return client(key).get("/v1/models?limit=1000").then().statusCode(200).extract().jsonPath().getList("data.id");
    }

    @Test
    void aModelAddedIsServedAtOnceAndGoesWhenDeleted() {
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(Tollgate.messageBody(NEW_MODEL, 100, "Hi")).post("/v1/messages").then().statusCode(404);
        try {
            admin().body(Map.of("input", "10", "output", "50", "max_tokens", 32000, "max_input_tokens", 200000,
                            "display_name", "Claude Mythos Preview"))
                    .put("/admin/v1/prices/" + NEW_MODEL).then().statusCode(200)
                    .body("id", equalTo(NEW_MODEL)).body("source", equalTo("stored"))
                    .body("cache_write_5m", equalTo("12.5")).body("cache_read", equalTo("1"))
                    .body("max_tokens", equalTo(32000)).body("served", equalTo(true));
            assertTrue(servedModels(acct[1]).contains(NEW_MODEL));
            admin().get("/admin/v1/prices").then().statusCode(200).body("data.id", hasItem(NEW_MODEL));
            fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)));
            client(acct[1]).body(Tollgate.messageBody(NEW_MODEL, 100, "Hi")).post("/v1/messages").then().statusCode(200);
            assertEquals("0.060000000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
            assertEquals("0.060000000", Tollgate.usage(acct[0]).path("data[0].upstream_cost_usd"));
        } finally {
            admin().delete("/admin/v1/prices/" + NEW_MODEL).then().statusCode(204);
        }
        client(acct[1]).body(Tollgate.messageBody(NEW_MODEL, 100, "Hi")).post("/v1/messages").then().statusCode(404);
        assertTrue(!servedModels(acct[1]).contains(NEW_MODEL));
        admin().delete("/admin/v1/prices/" + NEW_MODEL).then().statusCode(404);
        String audit = admin().get("/admin/v1/audit?limit=1000").then().statusCode(200).extract().asString();
        assertTrue(audit.contains("price.set") && audit.contains("price.delete"), audit);
        assertReconciled(acct[0]);
    }

    /** A built-in model priced anew (aliases and limits kept), then back to its built-in entry. */
    @Test
    void aBuiltInModelRepricedAndRestored() {
        String[] acct = Tollgate.fundedAccount("10");
        String id = "claude-haiku-4-5-20251001";
        try {
            admin().body(Map.of("input", "2", "output", "10")).put("/admin/v1/prices/" + id).then().statusCode(200)
                    .body("aliases", hasItem("claude-haiku-4-5")).body("cache_write_1h", equalTo("4"))
                    .body("max_tokens", equalTo(64000));
            fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)));
            client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 100, "Hi")).post("/v1/messages")
                    .then().statusCode(200);
            assertEquals("0.012000000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
            // Upstream cost is the list price in effect: the operator says what the upstream bills.
            assertEquals("0.012000000", Tollgate.usage(acct[0]).path("data[0].upstream_cost_usd"));
        } finally {
            admin().delete("/admin/v1/prices/" + id).then().statusCode(204);
        }
        admin().get("/admin/v1/prices/" + id).then().statusCode(200).body("source", equalTo("built_in"))
                .body("input", equalTo("1"));
        fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)));
        client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 100, "Hi")).post("/v1/messages").then().statusCode(200);
        assertEquals("0.006000000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    /** A price stored by another instance (straight in the database) is in effect here within the refresh interval. */
    @Test
    void aPriceStoredElsewhereArrivesWithinTheRefreshInterval() throws Exception {
        String[] acct = Tollgate.fundedAccount(null);
        sql("INSERT INTO model_prices (model_id, entry) VALUES ('" + NEW_MODEL + "', '{\"input\": \"3\", \"output\": \"15\"}')");
        try {
            await(() -> servedModels(acct[1]).contains(NEW_MODEL));
        } finally {
            sql("DELETE FROM model_prices WHERE model_id = '" + NEW_MODEL + "'");
        }
        await(() -> !servedModels(acct[1]).contains(NEW_MODEL));
    }

    @Test
    void badInputIsRefusedNamingTheField() {
        record Case(String model, Object body, String field) {
        }
        for (Case c : List.of(
                new Case(NEW_MODEL, Map.of("output", "1"), "input:"),
                new Case(NEW_MODEL, Map.of("input", "1"), "output:"),
                new Case(NEW_MODEL, Map.of("input", "abc", "output", "1"), "input:"),
                new Case(NEW_MODEL, Map.of("input", "-1", "output", "1"), "input:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "cache_read", "x"), "cache_read:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "max_tokens", 0), "max_tokens:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "max_input_tokens", "big"), "max_input_tokens:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "aliases", List.of("claude-opus-4-6")), "aliases:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "aliases", "x"), "aliases:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "long_context", Map.of("input", "2", "output", "3")),
                        "long_context.threshold_tokens:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "long_context",
                        Map.of("threshold_tokens", 1000, "input", "2")), "long_context.output:"),
                new Case(NEW_MODEL, Map.of("input", "1", "output", "1", "speed", "x"), "speed:"),
                new Case("Bad%20Model", Map.of("input", "1", "output", "1"), "model id:"),
                new Case("claude-haiku-4-5", Map.of("input", "1", "output", "1"), "model id:"))) {
            admin().body(c.body()).put("/admin/v1/prices/" + c.model()).then().statusCode(400)
                    .body(containsString(c.field()));
        }
        admin().get("/admin/v1/prices").then().statusCode(200).body("data.id", not(hasItem(NEW_MODEL)));
    }

    private void sql(String statement) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(statement)) {
            ps.executeUpdate();
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not in effect within 5 s");
            Thread.sleep(100);
        }
    }
}
