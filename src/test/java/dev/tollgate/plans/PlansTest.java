package dev.tollgate.plans;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Plans through the gateway: the charge at the plan's price for every token kind, the operator's
 * list-price cost beside it on the record, holds at the charged price, and plan changes reaching
 * only the calls admitted after them.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class PlansTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    AgroalDataSource dataSource;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static String createPlan(Object body) {
        return admin().body(body).post("/admin/v1/plans").then().statusCode(201).extract().path("id");
    }

    static void assign(String account, String plan) {
        admin().body(java.util.Collections.singletonMap("plan_id", plan)).patch("/admin/v1/accounts/" + account)
                .then().statusCode(200).body("plan_id", plan == null ? nullValue() : equalTo(plan));
    }

    static void call(String key, String model, Usage usage) {
        FakeUpstreamResource.fake().enqueue(Scenario.reply("Done").usage(usage));
        client(key).body(Tollgate.messageBody(model, 1000, "Hi")).post("/v1/messages").then().statusCode(200);
    }

    /** Every token kind at once on Sonnet 4.6 (list 0.02805 USD), at +20% (0.03366), JSON and stream. */
    @Test
    void aMarkupChargesEveryTokenKindAndRecordsTheListCost() {
        String plan = createPlan(Map.of("name", "retail", "markup_percent", "20"));
        String[] acct = Tollgate.fundedAccount("10");
        assign(acct[0], plan);
        Usage all = Usage.of(1000, 1000).cacheWrite5m(1000).cacheWrite1h(1000).cacheRead(1000);
        call(acct[1], "claude-sonnet-4-6", all);
        fake.enqueue(Scenario.reply("Done").usage(all));
        client(acct[1]).body("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":1000,\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}").post("/v1/messages").then().statusCode(200);

        Response usage = Tollgate.usage(acct[0]);
        for (int i = 0; i < 2; i++) {
            assertEquals("0.033660000", usage.path("data[" + i + "].cost_usd"));
            assertEquals("0.028050000", usage.path("data[" + i + "].upstream_cost_usd"));
            assertEquals(plan, usage.path("data[" + i + "].plan_id"));
        }
        assertEquals(0, new BigDecimal("9.93268").compareTo(balance(acct[0])));
        assertReconciled(acct[0]);
        // Self-service views show what the developer paid, never the operator's cost or plan.
        String me = client(acct[1]).get("/v1/me/usage").then().statusCode(200).extract().asString();
        assertTrue(me.contains("0.03366"), me);
        assertTrue(!me.contains("upstream_cost") && !me.contains("0.02805") && !me.contains("plan_id"), me);
    }

    /** A discount plan, with Haiku 4.5 at an absolute price and Sonnet 4.6 at its own markup. */
    @Test
    void overridesByModelIdOrAlias() {
        String plan = createPlan(Map.of("name", "partner", "markup_percent", "-10", "model_overrides", Map.of(
                "claude-haiku-4-5", Map.of("input", "2", "output", "8"),
                "claude-sonnet-4-6", Map.of("markup_percent", "100"))));
        admin().get("/admin/v1/plans/" + plan).then().statusCode(200)
                .body("markup_percent", equalTo("-10"))
                .body("model_overrides.'claude-haiku-4-5-20251001'.input", equalTo("2"))
                .body("model_overrides.'claude-sonnet-4-6'.markup_percent", equalTo("100"));
        String[] acct = Tollgate.fundedAccount("10");
        assign(acct[0], plan);
        Usage all = Usage.of(1000, 1000).cacheWrite5m(1000).cacheWrite1h(1000).cacheRead(1000);
        call(acct[1], "claude-haiku-4-5", all);   // 2 + 8 + 2.5 + 4 + 0.2: 0.0167 (list 0.00935)
        call(acct[1], "claude-sonnet-4-6", all);  // 0.02805 x 2
        call(acct[1], "claude-opus-4-6", all);    // 5 + 25 + 6.25 + 10 + 0.5 = 0.04675 at list, x 0.9
        Response usage = Tollgate.usage(acct[0]);
        assertEquals(List.of("0.042075000", "0.056100000", "0.016700000"), usage.jsonPath().getList("data.cost_usd"));
        assertEquals(List.of("0.046750000", "0.028050000", "0.009350000"), usage.jsonPath().getList("data.upstream_cost_usd"));
        assertReconciled(acct[0]);
    }

    /**
     * 1000 max_tokens of Opus 4.6 at $25 and the input's bytes fit 0.03 USD at list price; at +50%
     * they do not. The hold is at the charged price: 402 under the plan, 200 under the default one.
     */
    @Test
    void holdsAreAtTheChargedPrice() {
        String plan = createPlan(Map.of("name", "dear", "markup_percent", "50"));
        String[] acct = Tollgate.fundedAccount("0.03");
        assign(acct[0], plan);
        client(acct[1]).body(Tollgate.messageBody("claude-opus-4-6", 1000, "Hi")).post("/v1/messages")
                .then().statusCode(402).body("error.type", equalTo("billing_error"));
        assertEquals(0, fake.messageCalls());
        assign(acct[0], null);
        call(acct[1], "claude-opus-4-6", Usage.of(10, 10));
        assertEquals("0.000300000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
        assertNull(Tollgate.usage(acct[0]).path("data[0].plan_id"));
        assertReconciled(acct[0]);
    }

    /** A plan's change reaches calls admitted after it; records already written never change. */
    @Test
    void aPlanChangeAppliesToLaterCallsOnly() {
        String plan = createPlan(Map.of("name", "changing", "markup_percent", "20"));
        String[] acct = Tollgate.fundedAccount("10");
        assign(acct[0], plan);
        call(acct[1], "claude-haiku-4-5", Usage.of(1000, 0));  // 0.001 at list
        admin().body(Map.of("markup_percent", "50")).patch("/admin/v1/plans/" + plan).then().statusCode(200)
                .body("markup_percent", equalTo("50")).body("name", equalTo("changing"));
        call(acct[1], "claude-haiku-4-5", Usage.of(1000, 0));
        assertEquals(List.of("0.001500000", "0.001200000"), Tollgate.usage(acct[0]).jsonPath().getList("data.cost_usd"));
        // The audit log has both.
        String audit = admin().get("/admin/v1/audit?limit=1000").then().statusCode(200).extract().asString();
        assertTrue(audit.contains("plan.create") && audit.contains("plan.update"), audit);
        assertReconciled(acct[0]);
    }

    /** A plan changed by another instance (straight in the database) is in effect here within the refresh interval. */
    @Test
    void aChangeMadeElsewhereArrivesWithinTheRefreshInterval() throws Exception {
        String plan = createPlan(Map.of("name", "elsewhere", "markup_percent", "0"));
        String[] acct = Tollgate.fundedAccount("10");
        assign(acct[0], plan);
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("UPDATE plans SET markup_percent = 100 WHERE id = ?")) {
            ps.setObject(1, UUID.fromString(plan));
            ps.executeUpdate();
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        String cost;
        do {
            Thread.sleep(200);
            call(acct[1], "claude-haiku-4-5", Usage.of(1000, 0));
            cost = Tollgate.usage(acct[0]).path("data[0].cost_usd");
        } while (!cost.equals("0.002000000") && System.nanoTime() < deadline);
        assertEquals("0.002000000", cost);
        assertReconciled(acct[0]);
    }

    @Test
    void plansAreListedWithTheDefaultMarkup() {
        String plan = createPlan(Map.of("name", "listed", "markup_percent", 7.5));
        admin().get("/admin/v1/plans").then().statusCode(200)
                .body("default_markup_percent", equalTo("0"))
                .body("data.find { it.id == '" + plan + "' }.markup_percent", equalTo("7.5"));
        admin().get("/admin/v1/plans/" + UUID.randomUUID()).then().statusCode(404);
    }

    @Test
    void badInputIsRefusedNamingTheField() {
        record Case(Object body, String field) {
        }
        for (Case c : List.of(
                new Case(Map.of("markup_percent", "10"), "name"),
                new Case(Map.of("name", "x"), "markup_percent"),
                new Case(Map.of("name", "x", "markup_percent", "-100"), "markup_percent"),
                new Case(Map.of("name", "x", "markup_percent", "1e3"), "markup_percent"),
                new Case(Map.of("name", "x", "markup_percent", true), "markup_percent"),
                new Case(Map.of("name", "x", "markup_percent", "10", "colour", "red"), "colour"),
                new Case(Map.of("name", "x", "markup_percent", "10", "model_overrides", Map.of("gpt-4", Map.of("markup_percent", "1"))),
                        "model_overrides.gpt-4"),
                new Case(Map.of("name", "x", "markup_percent", "10", "model_overrides",
                        Map.of("claude-haiku-4-5", Map.of("input", "1"))), "model_overrides.claude-haiku-4-5.output"),
                new Case(Map.of("name", "x", "markup_percent", "10", "model_overrides",
                        Map.of("claude-haiku-4-5", Map.of("input", "-1", "output", "2"))), "model_overrides.claude-haiku-4-5.input"),
                new Case(Map.of("name", "x", "markup_percent", "10", "model_overrides",
                        Map.of("claude-haiku-4-5", Map.of("input", "1", "output", "2", "markup_percent", "3"))),
                        "model_overrides.claude-haiku-4-5"),
                new Case(Map.of("name", "x", "markup_percent", "10", "model_overrides",
                        new java.util.TreeMap<>(Map.of("claude-haiku-4-5", Map.of("markup_percent", "1"),
                                "claude-haiku-4-5-20251001", Map.of("markup_percent", "2")))),
                        "model_overrides.claude-haiku-4-5-20251001"))) {
            admin().body(c.body()).post("/admin/v1/plans").then().statusCode(400)
                    .body(containsString(c.field() + ":"));
        }
        String[] acct = Tollgate.fundedAccount(null);
        admin().body(Map.of("plan_id", UUID.randomUUID().toString())).patch("/admin/v1/accounts/" + acct[0])
                .then().statusCode(400).body(containsString("plan_id:"));
        admin().body(Map.of("plan_id", 12)).patch("/admin/v1/accounts/" + acct[0])
                .then().statusCode(400).body(containsString("plan_id:"));
        String plan = createPlan(Map.of("name", "kept", "markup_percent", "5"));
        admin().body(Map.of("markup_percent", "-101")).patch("/admin/v1/plans/" + plan)
                .then().statusCode(400).body(containsString("markup_percent:"));
        admin().get("/admin/v1/plans/" + plan).then().body("markup_percent", equalTo("5"));
        admin().get("/admin/v1/accounts/" + acct[0]).then().body("plan_id", nullValue())
                .body("id", startsWith(acct[0].substring(0, 4)));
    }
}
