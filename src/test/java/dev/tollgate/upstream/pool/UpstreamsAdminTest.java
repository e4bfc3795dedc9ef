package dev.tollgate.upstream.pool;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /admin/v1/upstreams: validation, secrecy of credentials, the credential test, spend, deletion. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UpstreamsAdminTest {

    @Inject
    AgroalDataSource dataSource;

    @AfterEach
    void removeUpstreams() {
        PoolFixture.removeAll();
    }

    private static Map<String, Object> valid(String name) {
        FakeUpstream fake = PoolFixture.fake("org-a");
        return new HashMap<>(Map.of("name", name, "kind", "anthropic", "base_url", fake.baseUrl(),
                "api_key", PoolFixture.keyOf("org-a"), "priority", -1));
    }

    @Test
    void badInputIsRefusedNamingTheFieldAndNothingIsWritten() {
        Map<String, Object[]> cases = Map.of(
                "weight", new Object[] {0},
                "kind", new Object[] {"azure"},
                "base_url", new Object[] {"ftp://example.com"},
                "models", new Object[] {List.of("gpt-4o")},
                "max_concurrent", new Object[] {-1},
                "enabled", new Object[] {"yes"},
                "name", new Object[] {"default"},
                "api_key", new Object[] {"has space"},
                "colour", new Object[] {"blue"});
        cases.forEach((field, value) -> {
            Map<String, Object> body = valid("bad-" + field.replace('_', '-'));
            body.put(field, value[0]);
            admin().body(body).post("/admin/v1/upstreams").then().statusCode(400)
                    .body("error.type", equalTo("invalid_request_error"))
                    .body("error.message", containsString(field));
        });
        Map<String, Object> noKey = valid("no-key");
        noKey.remove("api_key");
        admin().body(noKey).post("/admin/v1/upstreams").then().statusCode(400).body("error.message", containsString("api_key"));
        admin().get("/admin/v1/upstreams").then().statusCode(200).body("data.size()", equalTo(1))
                .body("data[0].name", equalTo("default")).body("data[0].configured", equalTo(true));
    }

    @Test
    void theCredentialIsNeverReturnedAndIsSealedInTheDatabase() throws Exception {
        String key = PoolFixture.keyOf("org-a");
        String created = admin().body(valid("sealed")).post("/admin/v1/upstreams").then().statusCode(201)
                .body("key_hint", equalTo("…" + key.substring(key.length() - 4)))
                .body("state", equalTo("healthy")).body("weight", equalTo(1)).body("priority", equalTo(-1))
                .extract().asString();
        assertFalse(created.contains(key));
        String id = admin().get("/admin/v1/upstreams").then().extract().jsonPath()
                .getString("data.find { it.name == 'sealed' }.id");
        assertFalse(admin().get("/admin/v1/upstreams/" + id).asString().contains(key));
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT credential FROM upstreams WHERE id = '" + id + "'")) {
                rs.next();
                assertFalse(new String(rs.getBytes(1), StandardCharsets.ISO_8859_1).contains("fake"), "a dump reveals nothing");
            }
            try (ResultSet rs = s.executeQuery("SELECT action, details::text FROM audit_log WHERE subject_id = '" + id + "'")) {
                assertTrue(rs.next(), "audited");
                assertEquals("upstream.create", rs.getString(1));
                assertFalse(rs.getString(2).contains(key));
            }
        }
    }

    @Test
    void theTestCallSaysWhetherTheCredentialWorks() {
        String good = admin().body(valid("works")).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
        Map<String, Object> revoked = valid("revoked");
        revoked.put("api_key", "sk-ant-api03-revoked-key-0000");
        String bad = admin().body(revoked).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
        admin().post("/admin/v1/upstreams/" + good + "/test").then().statusCode(200)
                .body("ok", equalTo(true)).body("status", equalTo(200));
        admin().post("/admin/v1/upstreams/" + bad + "/test").then().statusCode(200)
                .body("ok", equalTo(false)).body("status", equalTo(401))
                .body("message", containsString("authentication_error"));
    }

    @Test
    void patchChangesWhatIsGivenAndTheDefaultIsHeldInConfiguration() {
        String id = admin().body(valid("patched")).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
        admin().body(Map.of("weight", 5, "models", List.of("claude-haiku-4-5"), "max_concurrent", 2))
                .patch("/admin/v1/upstreams/" + id).then().statusCode(200)
                .body("weight", equalTo(5)).body("models", equalTo(List.of("claude-haiku-4-5-20251001")))
                .body("max_concurrent", equalTo(2)).body("name", equalTo("patched"));
        admin().body(Map.of("priority", "high")).patch("/admin/v1/upstreams/" + id).then().statusCode(400)
                .body("error.message", containsString("priority"));
        admin().body(Map.of("name", "patched")).post("/admin/v1/upstreams").then().statusCode(400);
        admin().body(Map.of("weight", 2)).patch("/admin/v1/upstreams/" + Upstream.DEFAULT_ID).then().statusCode(409);
        admin().delete("/admin/v1/upstreams/" + Upstream.DEFAULT_ID).then().statusCode(409);
    }

    @Test
    void spendTodayAndThisMonthComesFromTheUsageRecordsAndDeletionKeepsThem() {
        Map<String, Object> only = valid("spender");
        only.put("models", List.of("claude-haiku-4-5"));
        String id = admin().body(only).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
        String[] acct = Tollgate.fundedAccount("10");
        for (int i = 0; i < 3; i++) {
            client(acct[1]).body(Tollgate.messageBody("claude-haiku-4-5", 20, "hi")).post("/v1/messages")
                    .then().statusCode(200);
        }
        // Another model is not served by it: the configured default takes that call.
        client(acct[1]).body(Tollgate.messageBody("claude-sonnet-4-6", 20, "hi")).post("/v1/messages").then().statusCode(200);
        var usage = Tollgate.usage(acct[0]).jsonPath();
        BigDecimal served = BigDecimal.ZERO;
        for (Object cost : usage.getList("data.findAll { it.upstream_name == 'spender' }.cost_usd")) {
            served = served.add(new BigDecimal((String) cost));
        }
        assertEquals("default", usage.getString("data[0].upstream_name"));
        var detail = admin().get("/admin/v1/upstreams/" + id).then().statusCode(200).extract().jsonPath();
        assertEquals(0, served.compareTo(new BigDecimal(detail.getString("spend.today_usd"))));
        assertEquals(0, served.compareTo(new BigDecimal(detail.getString("spend.month_usd"))));
        assertTrue(served.signum() > 0);

        admin().delete("/admin/v1/upstreams/" + id).then().statusCode(204);
        admin().get("/admin/v1/upstreams/" + id).then().statusCode(404);
        admin().get("/admin/v1/upstreams").then().body("data.name", not(hasItem("spender")));
        assertEquals(3, Tollgate.usage(acct[0]).jsonPath().getList("data.findAll { it.upstream_name == 'spender' }").size());
        client(acct[1]).get("/v1/me/usage").then().statusCode(200)
                .body(not(containsString("upstream")));
        Tollgate.assertReconciled(acct[0]);
    }
}
