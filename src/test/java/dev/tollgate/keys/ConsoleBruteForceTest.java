package dev.tollgate.keys;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.Test;

import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;

/**
 * Guessing the admin token through the console is slowed like guessing keys: after the limit of
 * failures (5 a minute in this profile, shared with FailedAuthenticationTest so one application
 * start serves both), the address is refused, even with the right token, until its window ends;
 * other addresses are not. Guessing keys through the portal counts the same way.
 */
@QuarkusTest
@TestProfile(FailedAuthenticationTest.FiveFailuresPerMinute.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ConsoleBruteForceTest {

    private static RequestSpecification from(String address) {
        return RestAssured.given().redirects().follow(false).header("X-Forwarded-For", address);
    }

    @Test
    void wrongAdminTokensFromOneAddressAreRefusedAfterTheLimit() {
        for (int i = 0; i < 5; i++) {
            from("198.51.100.7").formParam("token", "guess-" + i).post("/console/sign-in").then().statusCode(401);
        }
        from("198.51.100.7").formParam("token", "guess-6").post("/console/sign-in").then().statusCode(429)
                .header("retry-after", not((String) null)).body(containsString("Too many wrong tokens"));
        from("198.51.100.7").formParam("token", Tollgate.ADMIN_TOKEN).post("/console/sign-in").then().statusCode(429)
                .header("Set-Cookie", (String) null);
        from("198.51.100.8").formParam("token", Tollgate.ADMIN_TOKEN).post("/console/sign-in").then().statusCode(303);
    }

    @Test
    void wrongKeysAtThePortalCountLikeWrongKeysAtTheApi() {
        for (int i = 0; i < 5; i++) {
            from("198.51.100.9").formParam("key", "sk-tg-guess" + i).post("/portal/sign-in").then().statusCode(401);
        }
        String[] acct = Tollgate.fundedAccount("1");
        from("198.51.100.9").formParam("key", "sk-tg-guess-again").post("/portal/sign-in").then().statusCode(429);
        from("198.51.100.10").formParam("key", acct[1]).post("/portal/sign-in").then().statusCode(303);
    }
}
