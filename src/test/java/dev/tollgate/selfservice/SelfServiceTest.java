package dev.tollgate.selfservice;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class SelfServiceTest {

    @Test
    void aKeySeesItsOwnAccountAndNeverAnothers() {
        String[] mine = Tollgate.fundedAccount("2");
        String[] theirs = Tollgate.fundedAccount("7");
        client(mine[1]).body(messageBody("claude-haiku-4-5", 10, "mine")).post("/v1/messages").then().statusCode(200);
        client(theirs[1]).body(messageBody("claude-haiku-4-5", 10, "theirs")).post("/v1/messages").then().statusCode(200);
        client(theirs[1]).body(messageBody("claude-haiku-4-5", 10, "theirs")).post("/v1/messages").then().statusCode(200);

        Response me = client(mine[1]).get("/v1/me").then().statusCode(200).extract().response();
        assertEquals(mine[0], me.path("account.id"));
        assertEquals(mine[1].substring(0, 12), me.path("key.prefix"));
        String spent = me.path("account.spend.today_usd");
        assertEquals(0, new java.math.BigDecimal("2").subtract(new java.math.BigDecimal(spent))
                .compareTo(new java.math.BigDecimal(me.<String>path("account.balance_usd"))));

        Response usage = client(mine[1]).get("/v1/me/usage?limit=10").then().statusCode(200).extract().response();
        assertEquals(1, usage.jsonPath().getList("data").size());
        assertEquals(1, (int) usage.path("totals.requests"));
        assertEquals(spent, usage.path("totals.cost_usd"));
        Response theirUsage = client(theirs[1]).get("/v1/me/usage").then().statusCode(200).extract().response();
        assertEquals(2, (int) theirUsage.path("totals.requests"));
        List<String> myRequests = usage.jsonPath().getList("data.request_id");
        assertTrue(theirUsage.jsonPath().getList("data.request_id").stream().noneMatch(myRequests::contains));

        client(mine[1]).get("/v1/me/usage?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z").then()
                .statusCode(200).body("totals.requests", equalTo(0));
        client(mine[1]).get("/v1/me/usage?from=yesterday").then().statusCode(400);
        io.restassured.RestAssured.given().get("/v1/me").then().statusCode(401);
    }

    @Test
    void rotatedKeyKeepsTheOldSecretForItsGracePeriod() {
        String[] acct = Tollgate.fundedAccount("1");
        String id = client(acct[1]).get("/v1/me").then().extract().path("key.id");
        String rotated = admin().body(Map.of("grace_seconds", 3600)).post("/admin/v1/keys/" + id + "/rotate")
                .then().statusCode(200).extract().path("key");
        client(rotated).get("/v1/me").then().statusCode(200).body("key.id", equalTo(id));
        client(acct[1]).get("/v1/me").then().statusCode(200);
        String again = admin().body(Map.of("grace_seconds", 0)).post("/admin/v1/keys/" + id + "/rotate")
                .then().statusCode(200).extract().path("key");
        client(again).get("/v1/me").then().statusCode(200);
        client(rotated).get("/v1/me").then().statusCode(401);
        client(acct[1]).get("/v1/me").then().statusCode(401);
    }

    @Test
    void adminActionsAreAudited() {
        String[] acct = Tollgate.fundedAccount("1");
        String id = client(acct[1]).get("/v1/me").then().extract().path("key.id");
        admin().body(Map.of("requests_per_minute", 10)).patch("/admin/v1/keys/" + id).then().statusCode(200);
        admin().delete("/admin/v1/keys/" + id).then().statusCode(200);
        Response keyAudit = admin().get("/admin/v1/audit?subject_id=" + id).then().statusCode(200).extract().response();
        assertEquals(List.of("key.revoke", "key.update", "key.create"), keyAudit.jsonPath().getList("data.action"));
        assertTrue(keyAudit.<String>path("data[0].actor").startsWith("admin:"));
        assertEquals(10, (int) keyAudit.path("data[1].details.requests_per_minute"));
        admin().get("/admin/v1/audit?subject_id=" + acct[0]).then().statusCode(200)
                .body("data.action", hasItem("account.topup")).body("data.action", hasItem("account.create"))
                .body("data[0].client_ip", org.hamcrest.Matchers.notNullValue());
    }
}
