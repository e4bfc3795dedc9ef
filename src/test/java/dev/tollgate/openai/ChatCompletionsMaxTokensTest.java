package dev.tollgate.openai;

import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.time.Duration;
import java.util.Map;

import static dev.tollgate.openai.ChatCompletionsTest.openAi;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAI SDKs send no output limit by default: the model's maximum output is then fitted to
 * what the balance pays for, while a limit the client chose is kept (402 if unaffordable).
 * Sonnet 4.5's 64,000 output tokens at $15 cost $0.96, far more than the $0.05 here.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ChatCompletionsMaxTokensTest {

    static final String NO_LIMIT = "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";

    @TestHTTPResource("/v1")
    URL baseUrl;

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static String withLimit(String field, int limit) {
        return NO_LIMIT.replace("{\"model\"", "{\"" + field + "\":" + limit + ",\"model\"");
    }

    /** Asserts the call was sent with max_tokens lowered to what the header says, and returns it. */
    private long assertLowered(String header) {
        long lowered = Long.parseLong(header);
        assertTrue(lowered >= 256 && lowered < 64000, "lowered to " + lowered);
        assertEquals(lowered, fake.lastRequest().json().get("max_tokens").asLong());
        return lowered;
    }

    @Test
    void withoutALimitMaxTokensIsFittedToTheBalance() {
        String[] acct = Tollgate.fundedAccount("0.05");
        Response r = openAi(acct[1]).body(NO_LIMIT).post("/v1/chat/completions");
        r.then().statusCode(200).body("object", equalTo("chat.completion"));
        // $0.05 at $15 per million output tokens is about 3,300 tokens, less the input.
        long lowered = assertLowered(r.header("tollgate-max-tokens-lowered-to"));
        assertTrue(lowered > 3000 && lowered <= 3333, "lowered to " + lowered);
        assertReconciled(acct[0]);
    }

    @Test
    void withoutALimitAStreamIsFittedToo() {
        String[] acct = Tollgate.fundedAccount("0.05");
        Response r = openAi(acct[1]).body(NO_LIMIT.replace("{", "{\"stream\":true,")).post("/v1/chat/completions");
        r.then().statusCode(200);
        assertTrue(r.asString().contains("[DONE]"), r.asString());
        assertLowered(r.header("tollgate-max-tokens-lowered-to"));
        assertReconciled(acct[0]);
    }

    @Test
    void aBalanceThatCoversTheMaximumKeepsIt() {
        String[] acct = Tollgate.fundedAccount("10");
        Response r = openAi(acct[1]).body(NO_LIMIT).post("/v1/chat/completions");
        r.then().statusCode(200);
        assertEquals(null, r.header("tollgate-max-tokens-lowered-to"));
        assertEquals(64000, fake.lastRequest().json().get("max_tokens").asInt(), "capped at the model's maximum output");
        assertReconciled(acct[0]);
    }

    @Test
    void anExplicitLimitTheBalanceCannotCoverIs402UnlessTheAccountOptedIn() {
        String[] acct = Tollgate.fundedAccount("0.05");
        for (String field : new String[] {"max_tokens", "max_completion_tokens"}) {
            openAi(acct[1]).body(withLimit(field, 64000)).post("/v1/chat/completions").then().statusCode(402)
                    .body("error.type", equalTo("insufficient_quota"));
        }
        assertEquals(0, fake.messageCalls());

        Tollgate.admin().body(Map.of("fit_max_tokens", true)).patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        Response r = openAi(acct[1]).body(withLimit("max_tokens", 64000)).post("/v1/chat/completions");
        r.then().statusCode(200);
        assertLowered(r.header("tollgate-max-tokens-lowered-to"));
        assertReconciled(acct[0]);
    }

    @Test
    void aBalanceBelowTheSmallestFitIs402() {
        // 256 output tokens (the default fit_min_tokens) cost $0.00384.
        String[] acct = Tollgate.fundedAccount("0.003");
        openAi(acct[1]).body(NO_LIMIT).post("/v1/chat/completions").then().statusCode(402)
                .body("error.code", equalTo("insufficient_quota"));
        assertEquals(0, fake.messageCalls());
        assertReconciled(acct[0]);
    }

    /** max_tokens must exceed thinking.budget_tokens upstream: a fit at or below the budget would only fail there. */
    @Test
    void aFitNeverGoesBelowTheThinkingBudget() {
        String[] acct = Tollgate.fundedAccount("0.05");
        String thinking = "{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":%d},\"model\"";
        openAi(acct[1]).body(NO_LIMIT.replace("{\"model\"", thinking.formatted(5000))).post("/v1/chat/completions")
                .then().statusCode(402);
        assertEquals(0, fake.messageCalls());

        Response r = openAi(acct[1]).body(NO_LIMIT.replace("{\"model\"", thinking.formatted(2000))).post("/v1/chat/completions");
        r.then().statusCode(200);
        assertTrue(assertLowered(r.header("tollgate-max-tokens-lowered-to")) > 2000);
        assertReconciled(acct[0]);
    }

    @Test
    void theOfficialSdkWithoutALimitIsServed() {
        String[] acct = Tollgate.fundedAccount("0.05");
        var client = OpenAIOkHttpClient.builder().baseUrl(baseUrl.toString()).apiKey(acct[1])
                .maxRetries(0).timeout(Duration.ofSeconds(20)).build();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
                .model("claude-sonnet-4-5").addUserMessage("Say hello").build();
        try (HttpResponseFor<ChatCompletion> response = client.chat().completions().withRawResponse().create(params)) {
            assertEquals(200, response.statusCode());
            assertFalse(response.parse().choices().isEmpty());
            assertLowered(response.headers().values("tollgate-max-tokens-lowered-to").get(0));
        }
        assertReconciled(acct[0]);
    }
}
