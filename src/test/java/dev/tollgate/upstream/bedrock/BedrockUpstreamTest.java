package dev.tollgate.upstream.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.CloudFake;
import dev.tollgate.testing.FakeBedrock;
import dev.tollgate.testing.RecordedRequest;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import dev.tollgate.upstream.CloudUpstreamAcceptance;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Claude through Amazon Bedrock: the acceptance of Anthropic direct, and Bedrock's own wire format. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class BedrockUpstreamTest extends CloudUpstreamAcceptance {

    private static final FakeBedrock BEDROCK = FakeBedrock.start();

    @Override
    protected CloudFake cloud() {
        return BEDROCK;
    }

    @Override
    protected Map<String, Object> registration() {
        return Map.of("name", "bedrock-us", "kind", "bedrock", "region", FakeBedrock.REGION,
                "access_key_id", FakeBedrock.ACCESS_KEY_ID, "secret_access_key", FakeBedrock.SECRET_ACCESS_KEY,
                "base_url", BEDROCK.baseUrl());
    }

    @Test
    void requestsAreSignedAndShapedForInvokeModel() {
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).header("anthropic-beta", "context-1m-2025-08-07, interleaved-thinking-2025-05-14")
                .body(toolBody(false)).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(toolBody(true)).post("/v1/messages").then().statusCode(200);

        List<RecordedRequest> requests = BEDROCK.requests();
        assertEquals(2, requests.size());
        assertEquals(2, BEDROCK.verifiedSignatures(), "every request's SigV4 signature recomputed and matched");
        assertEquals("/model/anthropic.claude-haiku-4-5-20251001-v1:0/invoke", requests.get(0).path());
        assertEquals("/model/anthropic.claude-haiku-4-5-20251001-v1:0/invoke-with-response-stream", requests.get(1).path());
        JsonNode body = requests.get(0).json();
        assertFalse(body.has("model"));
        assertFalse(requests.get(1).json().has("stream"));
        assertEquals("bedrock-2023-05-31", body.path("anthropic_version").asText());
        assertEquals("[\"context-1m-2025-08-07\",\"interleaved-thinking-2025-05-14\"]", body.path("anthropic_beta").toString());
        assertTrue(requests.get(0).bodyString().contains("\"temperature\":0.7"), "members kept as sent");
        assertEquals("application/json", requests.get(1).header("x-amzn-bedrock-accept"));
        assertTrue(requests.get(0).header("authorization").contains("/us-east-1/bedrock/aws4_request"));
        assertEquals(null, requests.get(0).header("anthropic-beta"));
        assertEquals(null, requests.get(0).header("x-api-key"));
        assertReconciled(acct[0]);
    }

    @Test
    void theFakeRejectsABodyThatStillHasModelOrStream() {
        Response refused = RestAssured.given().baseUri(BEDROCK.baseUrl()).header("authorization", "Bearer " + FakeBedrock.API_KEY)
                .contentType("application/json")
                .body("{\"model\":\"x\",\"stream\":true,\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":5,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")
                .post("/model/anthropic.claude-haiku-4-5-20251001-v1:0/invoke");
        assertEquals(400, refused.statusCode());
        assertTrue(refused.asString().contains("extraneous key [stream] is not permitted"));
        assertTrue(refused.header("x-amzn-ErrorType").startsWith("ValidationException"));
    }

    @Test
    void inferenceProfileAndModelMapChooseTheIdInTheUrl() {
        FakeBedrock.APPLICATION_PROFILES.put("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
                "claude-sonnet-4-6");
        Tollgate.admin().body(Map.of("inference_profile", "global", "model_map",
                Map.of("claude-sonnet-4-6", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123")))
                .patch("/admin/v1/upstreams/" + upstreamId).then().log().ifValidationFails().statusCode(200)
                .body("inference_profile", org.hamcrest.Matchers.equalTo("global"));
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(Tollgate.messageBody("claude-sonnet-4-6", 20, "Hi")).post("/v1/messages").then().statusCode(200);
        assertEquals(List.of("global.anthropic.claude-haiku-4-5-20251001-v1:0",
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"), BEDROCK.modelIds());
        assertTrue(BEDROCK.requests().get(1).path().contains("application-inference-profile%2Fabc123/invoke"),
                "the ARN's slash encoded in the path");
        assertEquals(2, BEDROCK.verifiedSignatures());
        assertReconciled(acct[0]);
    }

    @Test
    void temporaryCredentialsAndApiKeysWorkToo() {
        Tollgate.admin().body(Map.of("access_key_id", FakeBedrock.ACCESS_KEY_ID, "secret_access_key",
                FakeBedrock.SECRET_ACCESS_KEY, "session_token", FakeBedrock.SESSION_TOKEN))
                .patch("/admin/v1/upstreams/" + upstreamId).then().statusCode(200);
        String[] acct = Tollgate.fundedAccount("10");
        client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages").then().statusCode(200);
        assertEquals(FakeBedrock.SESSION_TOKEN, BEDROCK.lastRequest().header("x-amz-security-token"));
        assertEquals(1, BEDROCK.verifiedSignatures());

        Tollgate.admin().body(Map.of("api_key", FakeBedrock.API_KEY)).patch("/admin/v1/upstreams/" + upstreamId)
                .then().statusCode(200).body("auth", org.hamcrest.Matchers.equalTo("api_key"));
        client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages").then().statusCode(200);
        assertEquals("Bearer " + FakeBedrock.API_KEY, BEDROCK.lastRequest().header("authorization"));
        assertEquals(0, direct.messageCalls());
        assertReconciled(acct[0]);
    }

    @Test
    void aWrongSecretIsABadCredentialThatCoolsDownWhileAnotherUpstreamServes() {
        Map<String, Object> wrong = new HashMap<>(registration());
        wrong.put("name", "bedrock-wrong");
        wrong.put("secret_access_key", "not-the-secret-0123456789");
        wrong.put("priority", -2);
        String wrongId = register(wrong);
        String[] acct = Tollgate.fundedAccount("10");
        BEDROCK.anthropic().enqueue(Scenario.reply("From the right credential").usage(Usage.of(10, 4)));
        Response answer = client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages");
        assertEquals(200, answer.statusCode(), answer::asString);
        assertEquals("From the right credential", answer.path("content[0].text"));
        assertEquals(1, BEDROCK.verifiedSignatures(), "the wrong one was refused");
        assertEquals("cooling_down", Tollgate.admin().get("/admin/v1/upstreams/" + wrongId).then().extract().path("state"));
        assertEquals("bedrock-us", lastRecord(acct[0]).get("upstream_name"));
        assertReconciled(acct[0]);
    }

    @Test
    void aPriceMultiplierRaisesTheUpstreamsCostNeverTheCustomersCharge() {
        Tollgate.admin().body(Map.of("price_multiplier", "1.10")).patch("/admin/v1/upstreams/" + upstreamId)
                .then().statusCode(200).body("price_multiplier", org.hamcrest.Matchers.equalTo("1.1"));
        String[] viaCloud = Tollgate.fundedAccount("10");
        BEDROCK.anthropic().enqueue(Scenario.reply("Priced").usage(Usage.of(1234, 57).cacheWrite1h(333).cacheRead(77)));
        client(viaCloud[1]).body(Tollgate.messageBody(MODEL, 100, "Hi")).post("/v1/messages").then().statusCode(200);
        Map<String, Object> cloudRecord = lastRecord(viaCloud[0]);

        disableCloud();
        String[] viaDirect = Tollgate.fundedAccount("10");
        direct.enqueue(Scenario.reply("Priced").usage(Usage.of(1234, 57).cacheWrite1h(333).cacheRead(77)));
        client(viaDirect[1]).body(Tollgate.messageBody(MODEL, 100, "Hi")).post("/v1/messages").then().statusCode(200);
        Map<String, Object> directRecord = lastRecord(viaDirect[0]);

        java.math.BigDecimal charged = new java.math.BigDecimal((String) cloudRecord.get("cost_usd"));
        assertEquals(0, charged.compareTo(new java.math.BigDecimal((String) directRecord.get("cost_usd"))),
                "the customer pays the same");
        assertEquals(0, charged.compareTo(new java.math.BigDecimal((String) directRecord.get("upstream_cost_usd"))),
                "list price through Anthropic direct");
        assertEquals(0, charged.multiply(new java.math.BigDecimal("1.10")).setScale(9, java.math.RoundingMode.HALF_UP)
                .compareTo(new java.math.BigDecimal((String) cloudRecord.get("upstream_cost_usd"))), cloudRecord::toString);
        String spend = Tollgate.admin().get("/admin/v1/upstreams/" + upstreamId).then().statusCode(200).extract()
                .path("spend.today_usd");
        assertEquals(0, new java.math.BigDecimal(spend).compareTo(new java.math.BigDecimal((String) cloudRecord.get("upstream_cost_usd"))));
        assertReconciled(viaCloud[0]);
        assertReconciled(viaDirect[0]);
    }

    @Test
    void aBadRequestIsAnAnthropicInvalidRequestError() {
        String[] acct = Tollgate.fundedAccount("10");
        BEDROCK.anthropic().enqueue(Scenario.error(400, "invalid_request_error", "messages: roles must alternate"));
        Response answer = client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages");
        assertEquals(400, answer.statusCode());
        assertEquals("error", answer.path("type"));
        assertEquals("invalid_request_error", answer.path("error.type"));
        assertEquals("messages: roles must alternate", answer.path("error.message"));
        assertEquals(0, direct.messageCalls(), "the request's fault: not retried elsewhere");
        assertReconciled(acct[0]);
    }
}
