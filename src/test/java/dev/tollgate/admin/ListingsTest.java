package dev.tollgate.admin;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Account and key listings with search and cursors; usage walked over a range page by page. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ListingsTest {

    @Inject
    AgroalDataSource dataSource;

    /** Every page of a listing, following next_cursor; each page at most {@code limit} rows. */
    private static List<Map<String, Object>> walk(Function<String, Response> page, int limit) {
        List<Map<String, Object>> all = new ArrayList<>();
        String cursor = null;
        for (int pages = 0; pages < 1000; pages++) {
            Response r = page.apply(cursor);
            assertEquals(200, r.statusCode(), r.asString());
            List<Map<String, Object>> data = r.jsonPath().getList("data");
            assertTrue(data.size() <= limit, r::asString);
            all.addAll(data);
            cursor = r.path("next_cursor");
            if (cursor == null) {
                return all;
            }
            assertFalse(data.isEmpty(), "a page with a next_cursor has rows");
        }
        throw new AssertionError("no last page");
    }

    private static List<Object> field(List<Map<String, Object>> rows, String name) {
        return rows.stream().map(r -> r.get(name)).toList();
    }

    private static Response get(RequestSpecification spec, String path, String cursor) {
        return (cursor == null ? spec : spec.queryParam("cursor", cursor)).get(path);
    }

    @Test
    void accountsAreListedNewestFirstSearchedAndWalkedWithCursors() {
        String prefix = "Listed-" + System.nanoTime() + "-";
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.add(Tollgate.createAccount(prefix + i));
        }
        Tollgate.topup(created.get(0), "2.5");
        Tollgate.createAccount("Other " + prefix);

        String query = prefix.toUpperCase(Locale.ROOT);
        List<Map<String, Object>> rows = walk(cursor -> get(admin().queryParam("query", query).queryParam("limit", 2),
                "/admin/v1/accounts", cursor), 2);
        assertEquals(created.reversed(), field(rows, "id"), "newest first, each once, the others left out");
        Map<String, Object> funded = rows.getLast();
        assertEquals("2.500000000", funded.get("balance_usd"));
        assertEquals("0.000000000", funded.get("held_usd"));
        assertEquals("2.500000000", funded.get("available_usd"));
        assertTrue(funded.containsKey("plan_id") && funded.get("plan_id") == null, "the default plan: " + funded);
        assertTrue(Instant.parse((String) funded.get("created_at")).isBefore(Instant.now().plusSeconds(1)));

        // An id prefix, with or without its dashes, in any case.
        String id = created.get(3);
        for (String idPrefix : List.of(id.substring(0, 8), id.substring(0, 13).toUpperCase(Locale.ROOT), id)) {
            List<Object> ids = field(admin().queryParam("query", idPrefix).get("/admin/v1/accounts").then().statusCode(200)
                    .extract().jsonPath().getList("data"), "id");
            assertTrue(ids.contains(id), idPrefix + " -> " + ids);
        }
        // Wildcards are plain characters.
        assertEquals(0, admin().queryParam("query", prefix.replace("Listed", "L%")).get("/admin/v1/accounts")
                .then().statusCode(200).extract().jsonPath().getList("data").size());

        // Unfiltered, the whole table walks without repeats.
        List<Object> everyone = field(walk(cursor -> get(admin().queryParam("limit", 7), "/admin/v1/accounts", cursor), 7), "id");
        assertEquals(everyone.size(), new HashSet<>(everyone).size());
        assertTrue(everyone.containsAll(created));

        admin().queryParam("cursor", "bogus").get("/admin/v1/accounts").then().statusCode(400)
                .body("error.message", startsWith("cursor: "));
        admin().queryParam("limit", 0).get("/admin/v1/accounts").then().statusCode(400)
                .body("error.message", startsWith("limit: "));
        admin().queryParam("limit", 1001).get("/admin/v1/keys").then().statusCode(400)
                .body("error.message", startsWith("limit: "));
        String[] developer = Tollgate.fundedAccount(null);
        io.restassured.RestAssured.given().header("Authorization", "Bearer " + developer[1])
                .get("/admin/v1/accounts").then().statusCode(401);
    }

    @Test
    void keysAreListedAcrossAccountsWithoutSecrets() {
        String account = Tollgate.createAccount("keys listed");
        String other = Tollgate.createAccount("keys not listed");
        String unique = "lk" + System.nanoTime();
        List<String> secrets = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            secrets.add(admin().body(Map.of("name", unique + "-" + i)).post("/admin/v1/accounts/" + account + "/keys")
                    .then().statusCode(201).extract().path("key"));
        }
        admin().body(Map.of("name", unique + "-other")).post("/admin/v1/accounts/" + other + "/keys").then().statusCode(201);

        List<Map<String, Object>> mine = walk(cursor -> get(admin().queryParam("account_id", account).queryParam("limit", 2),
                "/admin/v1/keys", cursor), 2);
        assertEquals(List.of(unique + "-2", unique + "-1", unique + "-0"), field(mine, "name"));
        for (Map<String, Object> key : mine) {
            assertEquals(account, key.get("account_id"));
            assertFalse(key.containsKey("key") || key.containsKey("key_hash"), key::toString);
            assertFalse(key.toString().contains(secrets.get(0).substring(12)), "no secret in a listing");
        }
        List<Map<String, Object>> named = walk(cursor -> get(admin().queryParam("query", unique.toUpperCase(Locale.ROOT))
                .queryParam("limit", 3), "/admin/v1/keys", cursor), 3);
        assertEquals(4, named.size(), "both accounts' keys by name");
        // The key as displayed (its prefix) finds it.
        String displayed = (String) mine.getLast().get("prefix");
        List<Object> byPrefix = field(admin().queryParam("query", displayed).get("/admin/v1/keys").then().statusCode(200)
                .extract().jsonPath().getList("data"), "name");
        assertTrue(byPrefix.contains(unique + "-0"), byPrefix::toString);
        admin().queryParam("account_id", "nope").get("/admin/v1/keys").then().statusCode(400)
                .body("error.message", startsWith("account_id: "));
        admin().queryParam("cursor", java.util.Base64.getUrlEncoder().encodeToString("2026-01-01T00:00:00Z|x".getBytes()))
                .get("/admin/v1/keys").then().statusCode(400).body("error.message", startsWith("cursor: "));
    }

    @Test
    void aUsageRangeIsWalkedCompletelyPageByPage() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        String body = Tollgate.messageBody("claude-haiku-4-5", 50, "hi");
        for (int i = 0; i < 4; i++) {
            client(acct[1]).body(body).post("/v1/messages").then().statusCode(200);
        }
        Tollgate.callConcurrently(acct[1], body, 6);
        Tollgate.awaitNothingHeld(acct[0]);
        // Records with one timestamp (as a settlement batch writes them): only the id tells them apart.
        Instant same = Instant.now().minusSeconds(5).truncatedTo(ChronoUnit.MICROS);
        UUID key = Tollgate.newestKeyId(acct[0]);
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                INSERT INTO usage_records (request_id, account_id, key_id, model, cost, status, http_status, stream,
                                           endpoint, latency_ms, created_at)
                VALUES (?, ?, ?, 'claude-haiku-4-5-20251001', 0, 'upstream_error', 500, false, '/v1/messages', 1, ?)
                """)) {
            for (int i = 0; i < 5; i++) {
                ps.setString(1, "req_same_" + System.nanoTime() + "_" + i);
                ps.setObject(2, UUID.fromString(acct[0]));
                ps.setObject(3, key);
                ps.setTimestamp(4, Timestamp.from(same));
                ps.addBatch();
            }
            ps.executeBatch();
        }
        String from = Instant.now().minus(1, ChronoUnit.HOURS).toString();
        String to = Instant.now().plusSeconds(1).toString();
        List<Object> everything = field(Tollgate.usage(acct[0]).jsonPath().getList("data"), "request_id");
        assertEquals(15, everything.size());

        for (int limit : new int[] {1, 2, 4}) {
            List<Map<String, Object>> admin = walk(cursor -> get(admin().queryParam("from", from).queryParam("to", to)
                    .queryParam("limit", limit), "/admin/v1/accounts/" + acct[0] + "/usage", cursor), limit);
            assertEquals(everything, field(admin, "request_id"), "admin, limit " + limit);
            List<Map<String, Object>> me = walk(cursor -> get(client(acct[1]).queryParam("from", from).queryParam("to", to)
                    .queryParam("limit", limit), "/v1/me/usage", cursor), limit);
            assertEquals(everything, field(me, "request_id"), "self-service, limit " + limit);
        }
        // A range: only the records at that one instant.
        List<Map<String, Object>> instant = walk(cursor -> get(admin().queryParam("from", same.toString())
                .queryParam("to", same.plus(1, ChronoUnit.MICROS).toString()).queryParam("limit", 2),
                "/admin/v1/accounts/" + acct[0] + "/usage", cursor), 2);
        assertEquals(5, instant.size());
        Set<Object> ids = new HashSet<>(field(instant, "request_id"));
        assertEquals(5, ids.size());
        admin().queryParam("from", "yesterday").get("/admin/v1/accounts/" + acct[0] + "/usage").then().statusCode(400)
                .body("error.message", startsWith("from: "));
        client(acct[1]).queryParam("cursor", "!!").get("/v1/me/usage").then().statusCode(400)
                .body("error.message", startsWith("cursor: "));
        assertNull(client(acct[1]).queryParam("limit", 1000).get("/v1/me/usage").then().statusCode(200)
                .extract().path("next_cursor"));
        Tollgate.assertReconciled(acct[0]);
    }
}
