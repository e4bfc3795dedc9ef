package dev.tollgate.console;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The console's forms over HTTP: each does what the admin API does (its validation, its audit
 * record), codes are handed out once as CSV, keys are shown once at creation and rotation.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ConsoleActionsTest {

    private static final Pattern CSRF = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"");
    private static final Pattern SECRET = Pattern.compile("<code id=\"secret\">(sk-tg-[A-Za-z0-9]+)</code>");

    private String session;
    private String csrf;

    @BeforeEach
    void signIn() {
        session = RestAssured.given().redirects().follow(false).formParam("token", Tollgate.ADMIN_TOKEN)
                .post("/console/sign-in").getCookie("tg_console");
        Matcher m = CSRF.matcher(console().get("/console").asString());
        assertTrue(m.find());
        csrf = m.group(1);
    }

    private RequestSpecification console() {
        return RestAssured.given().redirects().follow(false).cookie("tg_console", session);
    }

    private RequestSpecification form() {
        return console().formParam("_csrf", csrf);
    }

    @Test
    void codesAreHandedOutOnceAsCsvAndCanBeRevoked() {
        Response csv = form().formParam("count", "3").formParam("amount_usd", "2.50").formParam("note", "launch")
                .post("/console/codes");
        assertEquals(200, csv.statusCode());
        assertTrue(csv.getContentType().startsWith("text/csv"));
        assertTrue(csv.getHeader("Content-Disposition").startsWith("attachment"));
        List<String> lines = Arrays.asList(csv.asString().trim().split("\n"));
        assertEquals("code,amount_usd,expires_at,batch_id,code_id", lines.get(0));
        assertEquals(4, lines.size());
        String code = lines.get(1).split(",")[0];
        String codeId = lines.get(1).split(",")[4];
        assertTrue(code.startsWith("TG-"), code);

        String list = console().get("/console/codes").then().statusCode(200).extract().asString();
        assertTrue(list.contains("launch"));
        assertFalse(list.contains(code), "a code is never listed");

        form().post("/console/codes/" + codeId + "/revoke").then().statusCode(303);
        Tollgate.admin().get("/admin/v1/redemption-codes?status=revoked").then().statusCode(200)
                .body("data.id", hasItem(codeId));
        // A revoked code redeems nothing.
        String[] acct = Tollgate.fundedAccount("1");
        client(acct[1]).body(Map.of("code", code)).post("/v1/me/redeem").then().statusCode(not(201));

        // Bad input: the API's 400 message, shown on the page; no codes made.
        Response bad = form().formParam("count", "0").formParam("amount_usd", "2").post("/console/codes");
        assertEquals(303, bad.statusCode());
        assertTrue(bad.getHeader("Location").contains("error=count"), bad.getHeader("Location"));
        Tollgate.assertReconciled(acct[0]);
    }

    @Test
    void keysAreShownOnceAtCreationAndRotationAndRevokedThroughTheApi() throws InterruptedException {
        String account = Tollgate.createAccount("keys " + System.nanoTime());
        Tollgate.topup(account, "1");
        String page = form().formParam("name", "ci").post("/console/accounts/" + account + "/keys")
                .then().statusCode(200).extract().asString();
        Matcher m = SECRET.matcher(page);
        assertTrue(m.find(), "the new key's secret is in the dialog");
        String secret = m.group(1);
        client(secret).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(200);
        assertFalse(console().get("/console/accounts/" + account).asString().contains(secret), "shown once");

        String keyId = Tollgate.newestKeyId(account).toString();
        String rotated = form().formParam("grace_seconds", "0").post("/console/keys/" + keyId + "/rotate")
                .then().statusCode(200).extract().asString();
        Matcher r = SECRET.matcher(rotated);
        assertTrue(r.find());
        assertNotEquals(secret, r.group(1));
        client(r.group(1)).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(200);

        form().formParam("requests_per_minute", "7").formParam("daily_spend_limit_usd", "")
                .post("/console/keys/" + keyId + "/limits").then().statusCode(303);
        Tollgate.admin().get("/admin/v1/accounts/" + account + "/keys").then()
                .body("data[0].limits.requests_per_minute", equalTo(7));
        Response bad = form().formParam("requests_per_minute", "lots").post("/console/keys/" + keyId + "/limits");
        assertTrue(bad.getHeader("Location").contains("error=requests_per_minute"), bad.getHeader("Location"));

        form().post("/console/keys/" + keyId + "/revoke").then().statusCode(303);
        client(r.group(1)).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(401);
        Tollgate.admin().get("/admin/v1/audit?subject_id=" + keyId).then().statusCode(200)
                .body("data.action", hasItems("key.create", "key.rotate", "key.update", "key.revoke"));
        Tollgate.awaitNothingHeld(account);
        Tollgate.assertReconciled(account);
    }

    @Test
    void accountLimitsAndAdjustmentsGoThroughTheApi() {
        String account = Tollgate.createAccount("limits " + System.nanoTime());
        form().formParam("monthly_spend_limit_usd", "40").formParam("max_concurrent", "3")
                .post("/console/accounts/" + account + "/limits").then().statusCode(303);
        Tollgate.admin().get("/admin/v1/accounts/" + account).then()
                .body("limits.monthly_spend_limit_usd", equalTo("40.000000000")).body("limits.max_concurrent", equalTo(3));

        form().formParam("amount_usd", "10").formParam("idempotency_key", "k-" + account)
                .post("/console/accounts/" + account + "/topups").then().statusCode(303);
        form().formParam("amount_usd", "-2.5").formParam("note", "refund fix").formParam("idempotency_key", "a-" + account)
                .post("/console/accounts/" + account + "/adjustments").then().statusCode(303);
        assertEquals(0, new BigDecimal("7.5").compareTo(Tollgate.balance(account)));
        // Credit that expires: a lot, shown on the account's page.
        form().formParam("amount_usd", "1").formParam("credit_expires_in_days", "30")
                .formParam("idempotency_key", "e-" + account).post("/console/accounts/" + account + "/topups")
                .then().statusCode(303);
        console().get("/console/accounts/" + account).then().statusCode(200).body(containsString("Credit lots"));
        assertEquals(0, new BigDecimal("8.5").compareTo(Tollgate.balance(account)));
        Response bad = form().formParam("amount_usd", "ten").post("/console/accounts/" + account + "/topups");
        assertTrue(bad.getHeader("Location").contains("error=amount_usd"), bad.getHeader("Location"));
        assertEquals(0, new BigDecimal("8.5").compareTo(Tollgate.balance(account)));

        console().get("/console/accounts/" + account + "/reconciliation").then().statusCode(200)
                .body(containsString("Consistent"));
        console().get("/console/accounts/00000000-0000-0000-0000-000000000001").then().statusCode(404)
                .contentType(containsString("text/html"));
        console().get("/console/audit?subject_id=" + account).then().statusCode(200)
                .body(containsString("account.adjustment"));
        for (String page : new String[] {"/console/upstreams", "/console/webhooks", "/console/audit", "/console/codes",
                "/console/accounts?q=limits"}) {
            console().get(page).then().statusCode(200);
        }
        Tollgate.assertReconciled(account);
    }

    @Test
    void plansPricesAndReportsPagesUseTheirApis() {
        String name = "Resellers " + System.nanoTime();
        form().formParam("name", name).formParam("markup_percent", "25").post("/console/plans").then().statusCode(303);
        String planId = Tollgate.admin().get("/admin/v1/plans").then().statusCode(200).extract().jsonPath()
                .getString("data.find { it.name == '" + name + "' }.id");
        Response bad = form().formParam("name", "x").formParam("markup_percent", "-150").post("/console/plans");
        assertTrue(bad.getHeader("Location").contains("error=markup_percent"), bad.getHeader("Location"));
        console().get("/console/plans").then().statusCode(200).body(containsString(name));

        String[] acct = Tollgate.fundedAccount("5");
        form().formParam("plan_id", planId).post("/console/accounts/" + acct[0] + "/plan").then().statusCode(303);
        Tollgate.admin().get("/admin/v1/accounts/" + acct[0]).then().body("plan_id", equalTo(planId));
        client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(200);

        console().get("/console/prices").then().statusCode(200).body(containsString("claude-haiku-4-5"));
        console().get("/console/reports?group_by=account").then().statusCode(200).body(containsString(acct[0]));
        Response csv = console().get("/console/reports?group_by=model&format=csv");
        assertEquals(200, csv.statusCode());
        assertTrue(csv.getContentType().startsWith("text/csv"), csv.getContentType());
        assertTrue(csv.asString().contains("claude-haiku-4-5"));
        console().get("/console/reports?from=yesterday").then().statusCode(200).body(containsString("from"));
        Tollgate.assertReconciled(acct[0]);
    }

    @Test
    void aReportPageShowsItsFirstRowsAndTheTotalsOfAll() {
        String[] acct = Tollgate.fundedAccount("5");
        client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(200);
        for (int i = 0; i < ConsolePricing.PAGE_ROWS; i++) {
            client(Tollgate.createKey(acct[0])).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages")
                    .then().statusCode(200);
        }
        var api = Tollgate.admin().queryParam("from", dev.tollgate.web.UsageViews.monthStart().toString())
                .queryParam("to", java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS).plusSeconds(3600)
                        .toString())
                .queryParam("group_by", "key").get("/admin/v1/reports/usage").then().statusCode(200).extract().jsonPath();
        int all = api.getList("data").size();
        assertTrue(all > ConsolePricing.PAGE_ROWS, "more rows than a page shows: " + all);

        String page = console().get("/console/reports?group_by=key").then().statusCode(200).extract().asString();
        assertTrue(page.contains("The first " + ConsolePricing.PAGE_ROWS + " of " + String.format(java.util.Locale.US, "%,d", all)
                + " rows"), "says the page is cut");
        assertEquals(ConsolePricing.PAGE_ROWS, page.split("<tr>", -1).length - 2, "a header row and the page's rows");
        String totals = page.substring(page.indexOf("id=\"report-totals\""));
        assertTrue(totals.contains(">" + api.getString("totals.cost_usd") + "<"), "the totals cover every row");
        Tollgate.assertReconciled(acct[0]);
    }
}
