package dev.tollgate.console;

import dev.tollgate.support.Tollgate;
import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** A signed-in console session over HTTP: its cookie, and its CSRF token for forms. */
final class ConsoleClient {

    private static final Pattern CSRF = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"");

    private final String session;
    private final String csrf;

    private ConsoleClient(String session, String csrf) {
        this.session = session;
        this.csrf = csrf;
    }

    static ConsoleClient signIn() {
        String session = RestAssured.given().redirects().follow(false).formParam("token", Tollgate.ADMIN_TOKEN)
                .post("/console/sign-in").getCookie("tg_console");
        Matcher m = CSRF.matcher(RestAssured.given().cookie("tg_console", session).get("/console").asString());
        assertTrue(m.find());
        return new ConsoleClient(session, m.group(1));
    }

    /** A request with the session cookie, redirects not followed. */
    RequestSpecification page() {
        return RestAssured.given().redirects().follow(false).cookie("tg_console", session);
    }

    /** A form post with the session's CSRF token. */
    RequestSpecification form() {
        return page().formParam("_csrf", csrf);
    }
}
