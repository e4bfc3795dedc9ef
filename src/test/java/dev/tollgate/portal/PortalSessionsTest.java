package dev.tollgate.portal;

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
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A portal session holds its key to the key's rules on every request, not only at sign-in: the
 * key's allowed IP ranges, its revocation, its expiry. A session that fails them is ended: its
 * row is deleted and its cookie cleared.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class PortalSessionsTest {

    private static final Pattern CSRF = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"");

    @Inject
    AgroalDataSource dataSource;

    private static RequestSpecification browser() {
        return RestAssured.given().redirects().follow(false);
    }

    private static String signIn(String key) {
        Response in = browser().formParam("key", key).post("/portal/sign-in");
        assertEquals(303, in.statusCode(), in.asString());
        return in.getCookie("tg_portal");
    }

    private static void patchKey(String keyId, Map<String, Object> body) {
        Tollgate.admin().body(body).patch("/admin/v1/keys/" + keyId).then().statusCode(200);
    }

    private long sessionsOf(String keyId) throws Exception {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM web_sessions WHERE key_id = ?::uuid")) {
            ps.setString(1, keyId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static void endedWithClearedCookie(Response r) {
        String cookie = r.getHeader("Set-Cookie");
        assertTrue(cookie != null && cookie.startsWith("tg_portal=;") && cookie.contains("Max-Age=0"), cookie);
    }

    @Test
    void allowedIpsAreCheckedOnEveryRequestAndEndTheSessionFromElsewhere() throws Exception {
        String[] acct = Tollgate.fundedAccount("3");
        String keyId = Tollgate.newestKeyId(acct[0]).toString();
        // Tests reach the server from the loopback address.
        patchKey(keyId, Map.of("allowed_ips", List.of("127.0.0.0/8", "::1/128")));
        String session = signIn(acct[1]);
        browser().cookie("tg_portal", session).get("/portal").then().statusCode(200);

        // The operator narrows the key's ranges: the open session's next page is refused and ends it.
        patchKey(keyId, Map.of("allowed_ips", List.of("10.0.0.0/8")));
        Response refused = browser().cookie("tg_portal", session).get("/portal");
        assertEquals(403, refused.statusCode());
        assertTrue(refused.asString().contains("may not be used from this IP address"), refused.asString());
        endedWithClearedCookie(refused);
        assertEquals(0, sessionsOf(keyId));
        // Back in range, the old cookie is still dead: a new sign-in is needed.
        patchKey(keyId, Map.of("allowed_ips", List.of("127.0.0.0/8", "::1/128")));
        browser().cookie("tg_portal", session).get("/portal").then().statusCode(303)
                .header("Location", containsString("/portal/sign-in"));

        // A form post too: refused from outside the ranges, with its valid CSRF token.
        session = signIn(acct[1]);
        Matcher m = CSRF.matcher(browser().cookie("tg_portal", session).get("/portal").asString());
        assertTrue(m.find());
        String csrf = m.group(1);
        patchKey(keyId, Map.of("allowed_ips", List.of("10.0.0.0/8")));
        Response post = browser().cookie("tg_portal", session).formParam("_csrf", csrf)
                .formParam("code", "TG-0000-0000-0000-0000-0000").post("/portal/redeem");
        assertEquals(403, post.statusCode());
        assertTrue(post.asString().contains("may not be used from this IP address"));
        // And signing in again from here is refused as before.
        browser().formParam("key", acct[1]).post("/portal/sign-in").then().statusCode(403);
        Tollgate.assertReconciled(acct[0]);
    }

    @Test
    void aRevokedOrExpiredKeyEndsItsSessionOnTheNextRequest() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        String keyId = Tollgate.newestKeyId(acct[0]).toString();
        String session = signIn(acct[1]);
        browser().cookie("tg_portal", session).get("/portal").then().statusCode(200);

        patchKey(keyId, Map.of("expires_at", Instant.now().minusSeconds(1).toString()));
        Response expired = browser().cookie("tg_portal", session).get("/portal");
        assertEquals(303, expired.statusCode());
        assertTrue(expired.getHeader("Location").endsWith("/portal/sign-in"));
        endedWithClearedCookie(expired);
        assertEquals(0, sessionsOf(keyId));

        patchKey(keyId, Map.of("expires_at", Instant.now().plusSeconds(3600).toString()));
        session = signIn(acct[1]);
        Tollgate.admin().delete("/admin/v1/keys/" + keyId).then().statusCode(200);
        Response revoked = browser().cookie("tg_portal", session).get("/portal");
        assertEquals(303, revoked.statusCode());
        endedWithClearedCookie(revoked);
        assertEquals(0, sessionsOf(keyId));
        Tollgate.assertReconciled(acct[0]);
    }
}
