package dev.tollgate.admin;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class AdminApiTest {

    @Test
    void adminTokenIsRequired() {
        RestAssured.given().get("/admin/v1/accounts/00000000-0000-0000-0000-000000000000")
                .then().statusCode(401).body("error.type", equalTo("authentication_error"));
        RestAssured.given().header("Authorization", "Bearer wrong").contentType(ContentType.JSON)
                .body(Map.of("name", "x")).post("/admin/v1/accounts")
                .then().statusCode(401).body("type", equalTo("error"));
    }

    @Test
    void accountsStartEmptyAndShowMoneyAsDecimalStrings() {
        Response created = admin().body(Map.of("name", "Acme")).post("/admin/v1/accounts").then().statusCode(201)
                .body("name", equalTo("Acme")).body("balance_usd", equalTo("0.000000000"))
                .body("held_usd", equalTo("0.000000000")).extract().response();
        String id = created.path("id");
        Tollgate.topup(id, "4.987654321");
        admin().get("/admin/v1/accounts/" + id).then().statusCode(200).body("balance_usd", equalTo("4.987654321"));
        admin().get("/admin/v1/accounts/" + id + "/ledger").then().statusCode(200)
                .body("data[0].kind", equalTo("topup")).body("data[0].balance_delta_usd", equalTo("4.987654321"));
    }

    @Test
    void topupWithIdempotencyKeyCreditsOnce() {
        String id = Tollgate.createAccount("idem");
        Response first = admin().header("Idempotency-Key", "k-1").body(Map.of("amount_usd", "10.00", "note", "march"))
                .post("/admin/v1/accounts/" + id + "/topups").then().statusCode(201).extract().response();
        Response again = admin().header("Idempotency-Key", "k-1").body(Map.of("amount_usd", "10.00", "note", "march"))
                .post("/admin/v1/accounts/" + id + "/topups").then().statusCode(201)
                .header("idempotent-replayed", "true").extract().response();
        assertEquals((Object) first.path("entry_id"), again.path("entry_id"));
        assertEquals("10.000000000", again.path("balance_usd"));
        admin().header("Idempotency-Key", "k-1").body(Map.of("amount_usd", "11.00", "note", "march"))
                .post("/admin/v1/accounts/" + id + "/topups").then().statusCode(422)
                .body("error.type", equalTo("invalid_request_error"));
        assertEquals(0, new BigDecimal("10").compareTo(balance(id)));
        admin().body(Map.of("amount_usd", 2.5)).post("/admin/v1/accounts/" + id + "/topups").then().statusCode(201)
                .body("balance_usd", equalTo("12.500000000"));
        assertReconciled(id);
    }

    @Test
    void badCreditsAreRefusedAndWriteNothing() {
        String id = Tollgate.createAccount("strict");
        String path = "/admin/v1/accounts/" + id + "/topups";
        for (Object amount : new Object[] {"-5", "0", "abc", "1.0000000001", "1e400", true, "", "1000000001"}) {
            admin().body(Map.of("amount_usd", amount)).post(path).then().statusCode(400)
                    .body("error.type", equalTo("invalid_request_error"));
        }
        admin().body("{\"note\":\"no amount\"}").post(path).then().statusCode(400);
        admin().body("{broken").post(path).then().statusCode(400).body("error.type", equalTo("invalid_request_error"));
        admin().body("[]").post(path).then().statusCode(400);
        admin().body(Map.of("amount_usd", "1")).post("/admin/v1/accounts/00000000-0000-0000-0000-000000000000/topups")
                .then().statusCode(404).body("error.type", equalTo("not_found_error"));
        admin().body(Map.of("amount_usd", "1")).post("/admin/v1/accounts/not-a-uuid/topups").then().statusCode(404);
        admin().body(Map.of("name", 5)).post("/admin/v1/accounts").then().statusCode(400);
        admin().body(Map.of()).post("/admin/v1/accounts").then().statusCode(400);
        assertEquals(0, balance(id).signum());
        admin().get("/admin/v1/accounts/" + id + "/ledger").then().body("data.size()", equalTo(0));
    }

    @Test
    void keysAreShownOnceAndNeverListedWithTheirSecret() {
        String id = Tollgate.createAccount("keys");
        Response issued = admin().body(Map.of("name", "ci", "allowed_models", java.util.List.of("anthropic/claude-sonnet-4.6")))
                .post("/admin/v1/accounts/" + id + "/keys").then().statusCode(201)
                .body("key", startsWith("sk-tg-")).extract().response();
        String key = issued.path("key");
        assertEquals(46, key.length());
        assertEquals(key.substring(0, 12), issued.path("prefix"));
        assertEquals(java.util.List.of("claude-sonnet-4-6"), issued.path("allowed_models"));
        assertNotEquals(key, Tollgate.createKey(id));
        admin().get("/admin/v1/accounts/" + id + "/keys").then().statusCode(200)
                .body("data.size()", equalTo(2)).body("data[0]", not(hasKey("key")))
                .body("data[0]", not(hasKey("key_hash")));
        admin().body(Map.of("name", "bad", "allowed_models", java.util.List.of("gpt-4"))).post("/admin/v1/accounts/" + id + "/keys")
                .then().statusCode(400);
        admin().body(Map.of("name", "bad", "expires_at", "yesterday")).post("/admin/v1/accounts/" + id + "/keys")
                .then().statusCode(400);
        admin().delete("/admin/v1/keys/00000000-0000-0000-0000-000000000000").then().statusCode(404);
    }
}
