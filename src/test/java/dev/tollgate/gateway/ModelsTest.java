package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which models are served and listed: current ones, not retired ones; the models list for both SDKs. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ModelsTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void currentModelsAreServed() {
        String[] acct = Tollgate.fundedAccount("10");
        for (String model : List.of("claude-sonnet-5-5", "claude-haiku-5-5", "claude-fable-5-2", "claude-mythos-5-2")) {
            client(acct[1]).body(messageBody(model, 10, "hi")).post("/v1/messages").then().statusCode(200);
            client(acct[1]).get("/v1/models/" + model).then().statusCode(200)
                    .body("max_input_tokens", equalTo(1000000)).body("max_tokens", equalTo(128000));
        }
        assertReconciled(acct[0]);
    }

    /** claude-sonnet-4-5 was retired on 2026-11-30: a clear 404 naming its replacement, on both surfaces. */
    @Test
    void aRetiredModelIsRefusedWithItsReplacement() {
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(messageBody("claude-sonnet-4-5", 10, "hi")).post("/v1/messages")
                .then().statusCode(404).body("type", equalTo("error")).body("error.type", equalTo("not_found_error"))
                .body("error.message", equalTo("model: claude-sonnet-4-5 was retired on 2026-11-30; use "
                        + "claude-sonnet-5-5 instead (GET /v1/models lists the models available)"));
        RestAssured.given().header("Authorization", "Bearer " + acct[1]).contentType(ContentType.JSON)
                .body("{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                .post("/v1/chat/completions")
                .then().statusCode(404).body("error.type", equalTo("not_found_error"))
                .body("error.code", equalTo("model_not_found"))
                .body("error.message", containsString("use claude-sonnet-5-5 instead"));
        client(acct[1]).get("/v1/models/claude-sonnet-4-5-20250929").then().statusCode(404)
                .body("error.message", containsString("retired on 2026-11-30"));
        assertEquals(0, fake.messageCalls());
        assertEquals(0, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
    }

    @Test
    void anUnknownModelSaysWhereToLook() {
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(messageBody("claude-typo", 10, "hi")).post("/v1/messages")
                .then().statusCode(404).body("error.type", equalTo("not_found_error"))
                .body("error.message", equalTo("model: claude-typo is not a model this gateway serves; "
                        + "GET /v1/models lists the models available"));
        client(acct[1]).get("/v1/models/claude-typo").then().statusCode(404)
                .body("error.message", containsString("GET /v1/models"));
    }

    /**
     * The OpenAI SDK's plain GET (Bearer, no anthropic-version, no paging parameter) gets every model
     * in one response; the Anthropic SDK's cursors walk the same list page by page, both ways.
     */
    @Test
    void theOpenAiSdkGetsEveryModelAndTheAnthropicSdkPages() {
        String[] acct = Tollgate.fundedAccount(null);
        List<String> paged = new ArrayList<>();
        String after = null;
        Response page;
        do {
            page = client(acct[1]).queryParam("limit", 5).queryParams(after == null ? java.util.Map.of()
                    : java.util.Map.of("after_id", after)).get("/v1/models").then().statusCode(200).extract().response();
            List<String> ids = page.jsonPath().getList("data.id");
            paged.addAll(ids);
            after = page.path("last_id");
        } while (page.<Boolean>path("has_more"));
        assertEquals(paged.size(), paged.stream().distinct().count(), "no model on two pages");
        assertTrue(paged.contains("claude-sonnet-5-5") && !paged.contains("claude-sonnet-4-5-20250929"), paged::toString);

        Response all = RestAssured.given().header("Authorization", "Bearer " + acct[1]).get("/v1/models")
                .then().statusCode(200).body("object", equalTo("list")).body("has_more", equalTo(false))
                .body("data[0].object", equalTo("model")).body("data[0].owned_by", equalTo("anthropic"))
                .extract().response();
        assertEquals(paged, all.jsonPath().getList("data.id"));

        String lastPageFirst = page.path("first_id");
        client(acct[1]).queryParam("limit", 5).queryParam("before_id", lastPageFirst).get("/v1/models")
                .then().statusCode(200).body("data.id", equalTo(paged.subList(
                        paged.indexOf(lastPageFirst) - 5, paged.indexOf(lastPageFirst))))
                .body("data.id", not(hasItem(lastPageFirst)));
        client(acct[1]).get("/v1/models").then().statusCode(200)
                .body("data.size()", equalTo(Math.min(20, paged.size())))
                .body("has_more", equalTo(paged.size() > 20));
    }
}
