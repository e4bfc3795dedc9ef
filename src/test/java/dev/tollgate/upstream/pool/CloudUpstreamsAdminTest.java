package dev.tollgate.upstream.pool;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.testing.FakeBedrock;
import dev.tollgate.testing.FakeVertex;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /admin/v1/upstreams for the bedrock and vertex kinds: their fields, their secrets, their test call. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class CloudUpstreamsAdminTest {

    private static final FakeBedrock BEDROCK = FakeBedrock.start();
    private static final FakeVertex VERTEX = FakeVertex.start();

    @Inject
    AgroalDataSource dataSource;

    @AfterEach
    void removeUpstreams() {
        PoolFixture.removeAll();
    }

    private static Map<String, Object> bedrock(String name) {
        return new HashMap<>(Map.of("name", name, "kind", "bedrock", "region", FakeBedrock.REGION,
                "access_key_id", FakeBedrock.ACCESS_KEY_ID, "secret_access_key", FakeBedrock.SECRET_ACCESS_KEY,
                "base_url", BEDROCK.baseUrl(), "priority", -1));
    }

    private static Map<String, Object> vertex(String name) {
        return new HashMap<>(Map.of("name", name, "kind", "vertex", "project_id", FakeVertex.PROJECT, "region", "us-east5",
                "service_account_json", VERTEX.serviceAccountJson(), "base_url", VERTEX.baseUrl() + "/v1",
                "token_url", VERTEX.tokenUrl(), "priority", -1));
    }

    private static void refused(Map<String, Object> body, String field) {
        admin().body(body).post("/admin/v1/upstreams").then().statusCode(400)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.message", containsString(field));
    }

    @Test
    void badFieldsOfEachKindAreRefusedNamingTheFieldAndNothingIsWritten() {
        Map<String, Object[]> bedrockCases = new HashMap<>(Map.of(
                "region", new Object[] {"Mars"},
                "access_key_id", new Object[] {"short"},
                "inference_profile", new Object[] {"Global!"},
                "price_multiplier", new Object[] {"abc"},
                "project_id", new Object[] {"some-project"}));
        bedrockCases.put("model_map", new Object[] {Map.of("gpt-4o", "anthropic.x")});
        bedrockCases.forEach((field, value) -> {
            Map<String, Object> body = bedrock("bad-" + field.replace('_', '-'));
            body.put(field, value[0]);
            refused(body, field);
        });
        Map<String, Object> both = bedrock("both");
        both.put("api_key", FakeBedrock.API_KEY);
        refused(both, "api_key");
        Map<String, Object> noRegion = bedrock("no-region");
        noRegion.remove("region");
        refused(noRegion, "region");
        Map<String, Object> badMap = bedrock("bad-map");
        badMap.put("model_map", Map.of("claude-haiku-4-5", "has space"));
        refused(badMap, "model_map");
        for (Object multiplier : List.of("0", "-1", "101", "1.1234567", 1.1)) {
            Map<String, Object> body = bedrock("bad-multiplier");
            body.put("price_multiplier", multiplier);
            refused(body, "price_multiplier");
        }

        Map<String, Object[]> vertexCases = Map.of(
                "project_id", new Object[] {"X"},
                "region", new Object[] {"moon"},
                "service_account_json", new Object[] {"{\"type\":\"service_account\"}"},
                "token_url", new Object[] {"ftp://example.com/token"},
                "access_key_id", new Object[] {FakeBedrock.ACCESS_KEY_ID});
        vertexCases.forEach((field, value) -> {
            Map<String, Object> body = vertex("bad-" + field.replace('_', '-'));
            body.put(field, value[0]);
            refused(body, field);
        });
        refused(Map.of("name", "anthropic-region", "kind", "anthropic", "api_key", "sk-ant-x-0123456789", "region",
                "us-east-1"), "region: only for bedrock and vertex upstreams");
        refused(Map.of("name", "anthropic-map", "kind", "anthropic", "api_key", "sk-ant-x-0123456789", "model_map",
                Map.of("claude-haiku-4-5", "x")), "model_map");
        admin().get("/admin/v1/upstreams").then().statusCode(200).body("data.size()", equalTo(1));
    }

    @Test
    void settingsAreShownAndSecretsNeverAreNorStoredInClear() throws Exception {
        Map<String, Object> b = bedrock("bedrock-shown");
        b.remove("base_url");
        b.put("region", "eu-west-1");
        b.put("inference_profile", "eu");
        b.put("price_multiplier", "1.10");
        b.put("model_map", Map.of("claude-haiku-4-5", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"));
        String bedrockJson = admin().body(b).post("/admin/v1/upstreams").then().statusCode(201)
                .body("kind", equalTo("bedrock")).body("region", equalTo("eu-west-1"))
                .body("base_url", equalTo("https://bedrock-runtime.eu-west-1.amazonaws.com"))
                .body("inference_profile", equalTo("eu")).body("auth", equalTo("sigv4"))
                .body("price_multiplier", equalTo("1.1"))
                .body("model_map.'claude-haiku-4-5-20251001'", equalTo("eu.anthropic.claude-haiku-4-5-20251001-v1:0"))
                .body("key_hint", equalTo("…0001")).body("project_id", nullValue())
                .extract().asString();
        assertFalse(bedrockJson.contains(FakeBedrock.SECRET_ACCESS_KEY));
        String bedrockId = admin().get("/admin/v1/upstreams").then().extract().jsonPath()
                .getString("data.find { it.name == 'bedrock-shown' }.id");
        admin().body(Map.of("region", "us-west-2", "price_multiplier", "1")).patch("/admin/v1/upstreams/" + bedrockId)
                .then().statusCode(200).body("base_url", equalTo("https://bedrock-runtime.us-west-2.amazonaws.com"))
                .body("auth", equalTo("sigv4")).body("price_multiplier", equalTo("1"));
        admin().body(Map.of("secret_access_key", "x0123456789")).patch("/admin/v1/upstreams/" + bedrockId)
                .then().statusCode(400).body("error.message", containsString("access_key_id"));

        Map<String, Object> v = vertex("vertex-shown");
        v.remove("base_url");
        String vertexJson = admin().body(v).post("/admin/v1/upstreams").then().statusCode(201)
                .body("kind", equalTo("vertex")).body("project_id", equalTo(FakeVertex.PROJECT))
                .body("region", equalTo("us-east5")).body("base_url", equalTo("https://us-east5-aiplatform.googleapis.com/v1"))
                .body("client_email", equalTo(FakeVertex.CLIENT_EMAIL)).body("token_url", equalTo(VERTEX.tokenUrl()))
                .extract().asString();
        assertFalse(vertexJson.contains("PRIVATE KEY"));
        String vertexId = admin().get("/admin/v1/upstreams").then().extract().jsonPath()
                .getString("data.find { it.name == 'vertex-shown' }.id");
        admin().body(Map.of("region", "global")).patch("/admin/v1/upstreams/" + vertexId).then().statusCode(200)
                .body("base_url", equalTo("https://aiplatform.googleapis.com/v1"));

        String list = admin().get("/admin/v1/upstreams").asString();
        assertFalse(list.contains(FakeBedrock.SECRET_ACCESS_KEY) || list.contains("PRIVATE KEY"));
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT credential, settings::text FROM upstreams WHERE deleted_at IS NULL")) {
                while (rs.next()) {
                    String sealed = new String(rs.getBytes(1), StandardCharsets.ISO_8859_1);
                    assertFalse(sealed.contains("Secret") || sealed.contains("PRIVATE") || sealed.contains("AKIA"));
                    assertFalse(rs.getString(2).contains("Secret") || rs.getString(2).contains("PRIVATE"));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT details::text FROM audit_log WHERE action LIKE 'upstream.%'")) {
                while (rs.next()) {
                    assertFalse(rs.getString(1).contains(FakeBedrock.SECRET_ACCESS_KEY) || rs.getString(1).contains("PRIVATE"),
                            rs.getString(1));
                }
            }
        }
    }

    @Test
    void theTestCallWorksThroughEachKind() {
        String bedrockId = admin().body(bedrock("bedrock-test")).post("/admin/v1/upstreams").then().statusCode(201)
                .extract().path("id");
        Map<String, Object> v = vertex("vertex-test");
        v.put("region", "global");
        String vertexId = admin().body(v).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
        admin().post("/admin/v1/upstreams/" + bedrockId + "/test").then().statusCode(200)
                .body("ok", equalTo(true)).body("status", equalTo(200));
        admin().post("/admin/v1/upstreams/" + vertexId + "/test").then().statusCode(200)
                .body("ok", equalTo(true)).body("status", equalTo(200));
        assertTrue(BEDROCK.verifiedSignatures() >= 1);

        Map<String, Object> wrong = bedrock("bedrock-wrong");
        wrong.put("secret_access_key", "wrong-secret-0123456789");
        String wrongId = admin().body(wrong).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
        admin().post("/admin/v1/upstreams/" + wrongId + "/test").then().statusCode(200)
                .body("ok", equalTo(false)).body("status", equalTo(403))
                .body("message", containsString("permission_error"));
    }
}
