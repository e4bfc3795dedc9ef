package dev.tollgate.web;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The console's and the portal's sessions over HTTP: cookie flags, CSRF, sign-out, expiry, the
 * admin token never echoed, and a portal session that reads only its own account whatever the
 * request names.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class WebSessionsTest {

    private static final Pattern CSRF = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"");

    @Inject
    AgroalDataSource dataSource;

    static RequestSpecification browser() {
        return RestAssured.given().redirects().follow(false);
    }

    static String csrf(String html) {
        Matcher m = CSRF.matcher(html);
        assertTrue(m.find(), "no CSRF field in the page");
        return m.group(1);
    }

    static String cookieOf(Response r, String name) {
        String header = r.getHeaders().getValues("Set-Cookie").stream().filter(h -> h.startsWith(name + "="))
                .findFirst().orElse(null);
        assertNotNull(header, "no " + name + " cookie set: " + r.getHeaders());
        return header;
    }

    static String consoleSession() {
        Response r = browser().formParam("token", Tollgate.ADMIN_TOKEN).post("/console/sign-in");
        assertEquals(303, r.statusCode());
        String header = cookieOf(r, "tg_console");
        return header.substring("tg_console=".length(), header.indexOf(';'));
    }

    @Test
    void consoleSignInSetsAStrictCookieAndNeverEchoesTheToken() {
        browser().get("/console").then().statusCode(303).header("Location", containsString("/console/sign-in"));
        browser().get("/console/sign-in").then().statusCode(200)
                .header("Content-Security-Policy", containsString("script-src 'self'"))
                .header("Content-Security-Policy", not(containsString("unsafe-inline")));

        browser().formParam("token", "wrong-token").post("/console/sign-in").then().statusCode(401)
                .header("Set-Cookie", (String) null).body(not(containsString("wrong-token")));

        Response ok = browser().formParam("token", Tollgate.ADMIN_TOKEN).post("/console/sign-in");
        assertEquals(303, ok.statusCode());
        String cookie = cookieOf(ok, "tg_console");
        assertTrue(cookie.contains("HttpOnly"), cookie);
        assertTrue(cookie.contains("SameSite=Strict"), cookie);
        assertTrue(cookie.contains("Path=/console"), cookie);
        assertTrue(cookie.matches(".*Max-Age=[1-9][0-9]*.*"), cookie);
        assertFalse(cookie.contains("Secure"), "plain HTTP: a Secure cookie would never come back: " + cookie);
        assertFalse(ok.getHeader("Location").contains(Tollgate.ADMIN_TOKEN));

        Response tls = browser().header("X-Forwarded-Proto", "https").formParam("token", Tollgate.ADMIN_TOKEN)
                .post("/console/sign-in");
        assertTrue(cookieOf(tls, "tg_console").contains("; Secure"), "over TLS the cookie is Secure");

        String session = cookie.substring("tg_console=".length(), cookie.indexOf(';'));
        String page = browser().cookie("tg_console", session).get("/console").then().statusCode(200)
                .header("Content-Security-Policy", containsString("default-src 'none'"))
                .header("Cache-Control", "no-store").extract().asString();
        assertTrue(page.contains("Dashboard"));
        assertFalse(page.contains(Tollgate.ADMIN_TOKEN), "the admin token is never in a page");
        assertFalse(page.contains("<script>") || page.contains(" style=\""), "no inline script or style");
    }

    @Test
    void aPostWithoutTheCsrfTokenIsRefusedAndChangesNothing() {
        String session = consoleSession();
        String html = browser().cookie("tg_console", session).get("/console/accounts").then().statusCode(200)
                .extract().asString();
        String token = csrf(html);
        String name = "csrf victim " + System.nanoTime();

        browser().cookie("tg_console", session).formParam("name", name).post("/console/accounts")
                .then().statusCode(403);
        browser().cookie("tg_console", session).formParam("name", name).formParam("_csrf", "forged")
                .post("/console/accounts").then().statusCode(403);
        // The token of another session does not fit this one.
        String other = csrf(browser().cookie("tg_console", consoleSession()).get("/console/accounts").asString());
        browser().cookie("tg_console", session).formParam("name", name).formParam("_csrf", other)
                .post("/console/accounts").then().statusCode(403);
        // No session at all: 403 too, not a sign-in page that a forged form could ride.
        browser().formParam("name", name).formParam("_csrf", token).post("/console/accounts").then().statusCode(403);
        browser().cookie("tg_console", session).get("/console/accounts?q=" + name).then().statusCode(200)
                .body(containsString("No accounts"));

        Response created = browser().cookie("tg_console", session).formParam("name", name).formParam("_csrf", token)
                .post("/console/accounts");
        assertEquals(303, created.statusCode());
        assertTrue(created.getHeader("Location").contains("/console/accounts/"));
        // Audited like the API's own change.
        String accountId = created.getHeader("Location").replaceAll(".*/console/accounts/([0-9a-f-]{36}).*", "$1");
        Tollgate.admin().get("/admin/v1/audit?subject_id=" + accountId).then().statusCode(200)
                .body("data[0].action", org.hamcrest.Matchers.equalTo("account.create"));
    }

    @Test
    void signOutEndsTheSessionOnTheServer() {
        String session = consoleSession();
        String token = csrf(browser().cookie("tg_console", session).get("/console").asString());
        Response out = browser().cookie("tg_console", session).formParam("_csrf", token).post("/console/sign-out");
        assertEquals(303, out.statusCode());
        assertTrue(cookieOf(out, "tg_console").contains("Max-Age=0"));
        // The old cookie, replayed, no longer works: the session is gone from the database.
        browser().cookie("tg_console", session).get("/console").then().statusCode(303)
                .header("Location", containsString("/console/sign-in"));
    }

    @Test
    void anExpiredSessionSignsOut() throws Exception {
        String session = consoleSession();
        browser().cookie("tg_console", session).get("/console").then().statusCode(200);
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.executeUpdate("UPDATE web_sessions SET expires_at = now() - interval '1 second' WHERE kind = 'console'");
        }
        browser().cookie("tg_console", session).get("/console").then().statusCode(303);
    }

    @Test
    void aPortalSessionReadsOnlyItsOwnAccount() {
        String[] mine = Tollgate.fundedAccount("3");
        String[] theirs = Tollgate.fundedAccount("9");
        String theirName = Tollgate.admin().get("/admin/v1/accounts/" + theirs[0]).then().extract().path("name");
        client(theirs[1]).body(messageBody("claude-haiku-4-5", 10, "theirs")).post("/v1/messages").then().statusCode(200);

        browser().formParam("key", "sk-tg-not-a-real-key").post("/portal/sign-in").then().statusCode(401);
        Response in = browser().formParam("key", mine[1]).post("/portal/sign-in");
        assertEquals(303, in.statusCode());
        String cookie = cookieOf(in, "tg_portal");
        assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/portal"));
        String session = cookie.substring("tg_portal=".length(), cookie.indexOf(';'));

        String page = browser().cookie("tg_portal", session).get("/portal").then().statusCode(200).extract().asString();
        assertTrue(page.contains("$3.00"), "my balance");
        assertFalse(page.contains(mine[1]), "the key is not in the page");
        // Whatever the request names, the portal answers for the session's own account.
        for (String attempt : new String[] {"/portal?account_id=" + theirs[0], "/portal/?key_id=" + theirs[0],
                "/portal/accounts/" + theirs[0], "/portal/" + theirs[0]}) {
            String body = browser().cookie("tg_portal", session).get(attempt).asString();
            assertFalse(body.contains(theirName) || body.contains("$9.00") || body.contains(theirs[0]),
                    attempt + " showed another account");
        }
        // A portal session is no console session, even under the console's cookie name.
        browser().cookie("tg_console", session).get("/console/accounts/" + theirs[0]).then().statusCode(303);

        // Revoking the key ends its portal sessions.
        String keyId = Tollgate.newestKeyId(mine[0]).toString();
        Tollgate.admin().delete("/admin/v1/keys/" + keyId).then().statusCode(200);
        browser().cookie("tg_portal", session).get("/portal").then().statusCode(303)
                .header("Location", containsString("/portal/sign-in"));
        Tollgate.assertReconciled(mine[0]);
    }

    @Test
    void portalPostsNeedTheCsrfTokenToo() {
        String[] mine = Tollgate.fundedAccount("1");
        String session = browser().formParam("key", mine[1]).post("/portal/sign-in").getCookie("tg_portal");
        browser().cookie("tg_portal", session).formParam("code", "TG-0000-0000-0000-0000-0000").post("/portal/redeem")
                .then().statusCode(403);
        Tollgate.assertReconciled(mine[0]);
    }
}
