package dev.tollgate.upstream.vertex;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.CloudFake;
import dev.tollgate.testing.FakeVertex;
import dev.tollgate.testing.RecordedRequest;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import dev.tollgate.upstream.CloudUpstreamAcceptance;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Claude through Google Vertex AI: the acceptance of Anthropic direct, and Vertex's own wire format and tokens. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class VertexUpstreamTest extends CloudUpstreamAcceptance {

    private static final FakeVertex VERTEX = FakeVertex.start();

    @Override
    protected CloudFake cloud() {
        return VERTEX;
    }

    @Override
    protected Map<String, Object> registration() {
        VERTEX.tokenLifetime(3600);
        return Map.of("name", "vertex-global", "kind", "vertex", "project_id", FakeVertex.PROJECT, "region", "global",
                "service_account_json", VERTEX.serviceAccountJson(), "base_url", VERTEX.baseUrl() + "/v1",
                "token_url", VERTEX.tokenUrl());
    }

    @Test
    void requestsCarryTheModelInTheUrlAndTheTokenAsBearer() {
        String[] acct = Tollgate.fundedAccount("10");
        int tokensBefore = VERTEX.tokenRequests();
        client(acct[1]).header("anthropic-beta", "context-1m-2025-08-07").body(toolBody(false)).post("/v1/messages")
                .then().statusCode(200);
        client(acct[1]).body(toolBody(true)).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(toolBody(false)).post("/v1/messages").then().statusCode(200);

        List<RecordedRequest> calls = VERTEX.requests().stream().filter(r -> !r.path().equals("/token")).toList();
        assertEquals(3, calls.size());
        String base = "/v1/projects/" + FakeVertex.PROJECT + "/locations/global/publishers/anthropic/models/";
        assertEquals(base + "claude-haiku-4-5@20251001:rawPredict", calls.get(0).path());
        assertEquals(base + "claude-haiku-4-5@20251001:streamRawPredict", calls.get(1).path());
        JsonNode body = calls.get(0).json();
        assertFalse(body.has("model"));
        assertEquals("vertex-2023-10-16", body.path("anthropic_version").asText());
        assertTrue(calls.get(1).json().path("stream").asBoolean(), "stream stays in the body");
        assertEquals("context-1m-2025-08-07", calls.get(0).header("anthropic-beta"));
        assertTrue(calls.get(0).header("authorization").startsWith("Bearer ya29.fake-"));
        assertEquals(calls.get(0).header("authorization"), calls.get(2).header("authorization"), "the token is cached");
        assertTrue(VERTEX.tokenRequests() - tokensBefore <= 1, "one token for the three calls");
        assertReconciled(acct[0]);
    }

    @Test
    void aTokenNearItsExpiryIsRefreshedInTheBackground() throws Exception {
        VERTEX.tokenLifetime(120); // within the refresh margin, but still valid for a while
        Tollgate.admin().body(Map.of("service_account_json", VERTEX.serviceAccountJson()))
                .patch("/admin/v1/upstreams/" + upstreamId).then().statusCode(200); // a fresh credential: no token yet
        String[] acct = Tollgate.fundedAccount("10");
        int before = VERTEX.tokenRequests();
        client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages").then().statusCode(200);
        assertEquals(before + 1, VERTEX.tokenRequests());
        client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages").then().statusCode(200);
        long deadline = System.currentTimeMillis() + 5000;
        while (VERTEX.tokenRequests() < before + 2 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(before + 2, VERTEX.tokenRequests(), "refreshed before expiry, off the call's path");
        assertReconciled(acct[0]);
    }

    @Test
    void aServiceAccountTheTokenEndpointRefusesLeavesTheCallToAnotherUpstream() {
        String other;
        try (FakeVertex stranger = FakeVertex.start()) {
            other = stranger.serviceAccountJson(); // signed with a key the fake's token endpoint does not know
        }
        Tollgate.admin().body(Map.of("service_account_json", other)).patch("/admin/v1/upstreams/" + upstreamId)
                .then().statusCode(200);
        String[] acct = Tollgate.fundedAccount("10");
        direct.enqueue(Scenario.reply("From the other upstream").usage(Usage.of(10, 4)));
        Response answer = client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages");
        assertEquals(200, answer.statusCode(), answer::asString);
        assertEquals("From the other upstream", answer.path("content[0].text"));
        assertEquals(0, VERTEX.anthropic().messageCalls());
        assertReconciled(acct[0]);
    }

    @Test
    void anAnthropicShapedRefusalPassesThrough() {
        String[] acct = Tollgate.fundedAccount("10");
        VERTEX.anthropic().enqueue(Scenario.error(400, "invalid_request_error", "max_tokens: must be at most 64000"));
        Response answer = client(acct[1]).body(Tollgate.messageBody(MODEL, 20, "Hi")).post("/v1/messages");
        assertEquals(400, answer.statusCode());
        assertEquals("invalid_request_error", answer.path("error.type"));
        assertEquals("max_tokens: must be at most 64000", answer.path("error.message"));
        assertEquals(0, direct.messageCalls());
        assertReconciled(acct[0]);
    }
}
