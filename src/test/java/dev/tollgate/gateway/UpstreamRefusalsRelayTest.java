package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Locale;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The upstream's refusals reach customers with their status, error type and retry hints, but
 * nothing of the operator's account (organization, its id, credit, spend limits) on either surface.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UpstreamRefusalsRelayTest {

    static final String CREDIT_TOO_LOW = "Your credit balance is too low to access the Anthropic API. "
            + "Please go to Plans & Billing to upgrade or purchase credits.";
    static final String CACHE_BLOCKS = "A maximum of 4 blocks with cache_control may be provided. Found 5.";

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static void assertNothingOfTheOperator(String message) {
        for (String leak : List.of("organization", FakeUpstream.ORGANIZATION_ID, "credit", "usage limits", "30,000")) {
            assertFalse(message.toLowerCase(Locale.ROOT).contains(leak.toLowerCase(Locale.ROOT)), message);
        }
    }

    @Test
    void messagesSurfaceKeepsStatusTypeAndRetryAfterButNotTheOperatorsTexts() {
        String[] acct = Tollgate.fundedAccount("1");
        fake.enqueue(Scenario.rateLimited(7));
        Response limited = MessagesErrorsTest.assertError(
                client(acct[1]).body(messageBody("claude-sonnet-4-6", 10, "hi")).post("/v1/messages"),
                429, "rate_limit_error");
        assertEquals("7", limited.header("retry-after"));
        assertNull(limited.header("anthropic-organization-id"));
        assertNothingOfTheOperator(limited.path("error.message"));

        // The operator's upstream account is out of credit: not the customer's request's fault (a 502).
        fake.enqueue(Scenario.error(400, "invalid_request_error", CREDIT_TOO_LOW));
        Response credit = MessagesErrorsTest.assertError(
                client(acct[1]).body(messageBody("claude-sonnet-4-6", 10, "hi")).post("/v1/messages"),
                502, "api_error");
        assertNothingOfTheOperator(credit.path("error.message"));

        fake.enqueue(Scenario.error(400, "invalid_request_error", CACHE_BLOCKS));
        MessagesErrorsTest.assertError(
                client(acct[1]).body(messageBody("claude-sonnet-4-6", 10, "hi")).post("/v1/messages"),
                400, "invalid_request_error").then().body("error.message", org.hamcrest.Matchers.equalTo(CACHE_BLOCKS));

        assertEquals(List.of("0.000000000", "0.000000000", "0.000000000"),
                Tollgate.usage(acct[0]).jsonPath().getList("data.cost_usd"));
        assertReconciled(acct[0]);
    }

    @Test
    void chatCompletionsSurfaceDoesTheSameInTheOpenAiEnvelope() {
        String[] acct = Tollgate.fundedAccount("1");
        String chat = "{\"model\":\"claude-sonnet-4-6\",\"max_completion_tokens\":30,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
        fake.enqueue(Scenario.rateLimited(7));
        Response limited = openAi(acct[1]).body(chat).post("/v1/chat/completions");
        limited.then().statusCode(429).header("retry-after", "7")
                .body("error.type", org.hamcrest.Matchers.equalTo("rate_limit_error"));
        assertNothingOfTheOperator(limited.path("error.message"));

        fake.enqueue(Scenario.error(400, "invalid_request_error", CREDIT_TOO_LOW));
        Response credit = openAi(acct[1]).body(chat).post("/v1/chat/completions");
        credit.then().statusCode(502);
        assertNothingOfTheOperator(credit.path("error.message"));

        fake.enqueue(Scenario.error(400, "invalid_request_error", CACHE_BLOCKS));
        openAi(acct[1]).body(chat).post("/v1/chat/completions")
                .then().statusCode(400).body("error.message", org.hamcrest.Matchers.equalTo(CACHE_BLOCKS));
        assertReconciled(acct[0]);
    }

    private static io.restassured.specification.RequestSpecification openAi(String key) {
        return RestAssured.given().header("Authorization", "Bearer " + key).contentType(ContentType.JSON);
    }
}
