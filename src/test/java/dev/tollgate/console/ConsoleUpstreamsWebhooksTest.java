package dev.tollgate.console;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.testing.FakeBedrock;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.FakeVertex;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.tollgate.support.Tollgate.admin;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The console's upstream and webhook forms over HTTP: each goes through the admin API's methods
 * (its checks, its audit records), shows a refused input as the page's error, keeps credentials
 * and signing secrets out of every page but the one answer that hands a secret over.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ConsoleUpstreamsWebhooksTest {

    private static final String KEY = "sk-ant-api03-console-form-key-0123456789";
    private static final FakeUpstream FAKE = FakeUpstream.start(KEY);
    private static final Pattern SECRET = Pattern.compile("<code id=\"secret\">([^<]+)</code>");

    private ConsoleClient console;

    @BeforeEach
    void signIn() {
        console = ConsoleClient.signIn();
    }

    /** Stored upstreams and webhooks would take other tests' calls and events. */
    @AfterEach
    void removeWhatWasAdded() {
        for (String id : admin().get("/admin/v1/upstreams").then().extract().jsonPath()
                .<String>getList("data.findAll { !it.configured }.id")) {
            admin().delete("/admin/v1/upstreams/" + id);
        }
        for (String id : admin().get("/admin/v1/webhooks").then().extract().jsonPath()
                .<String>getList("data.findAll { it.url.contains('example.com') }.id")) {
            admin().delete("/admin/v1/webhooks/" + id);
        }
    }

    static String error(Response r) {
        assertEquals(303, r.statusCode());
        String location = r.getHeader("Location");
        assertTrue(location.contains("error="), location);
        return URLDecoder.decode(location.substring(location.indexOf("error=") + 6), StandardCharsets.UTF_8);
    }

    private String upstreamId(String name) {
        return admin().get("/admin/v1/upstreams").then().extract().jsonPath()
                .getString("data.find { it.name == '" + name + "' }.id");
    }

    @Test
    void anAnthropicUpstreamIsAddedChangedTestedDisabledAndDeleted() {
        // Last in priority and disabled: other tests' calls never reach it.
        Response created = console.form().formParam("name", "console-a").formParam("kind", "anthropic")
                .formParam("anthropic.api_key", KEY).formParam("base_url", FAKE.baseUrl()).formParam("priority", "1000")
                .formParam("bedrock.region", "us-east-1") // another kind's field: not sent
                .post("/console/upstreams");
        assertEquals(303, created.statusCode(), created.asString());
        String id = upstreamId("console-a");
        assertTrue(created.getHeader("Location").endsWith("/console/upstreams/" + id + "?msg=Upstream+console-a+added."),
                created.getHeader("Location"));
        admin().get("/admin/v1/upstreams/" + id).then().statusCode(200).body("kind", equalTo("anthropic"))
                .body("enabled", equalTo(false)).body("priority", equalTo(1000)).body("key_hint", equalTo("…6789"));
        String page = console.page().get("/console/upstreams/" + id).then().statusCode(200).extract().asString();
        assertTrue(page.contains("console-a") && page.contains("…6789"));
        assertFalse(page.contains("calls="), "recent calls as a number, not a map");
        assertTrue(page.contains("Upstream cost") && page.contains("$0.00 today"), "its spend, from the roll-ups");
        assertFalse(page.contains(KEY), "a credential is never shown");
        assertFalse(console.page().get("/console/upstreams").asString().contains(KEY));

        console.form().formParam("name", "console-a").formParam("weight", "5").formParam("priority", "1000")
                .formParam("models", "claude-haiku-4-5, claude-sonnet-4-6").formParam("max_concurrent", "")
                .formParam("price_multiplier", "1.25").formParam("base_url", FAKE.baseUrl())
                .formParam("anthropic.api_key", "").post("/console/upstreams/" + id).then().statusCode(303);
        admin().get("/admin/v1/upstreams/" + id).then().body("weight", equalTo(5)).body("price_multiplier", equalTo("1.25"))
                .body("models.size()", equalTo(2)).body("key_hint", equalTo("…6789"));
        assertTrue(error(console.form().formParam("weight", "0").post("/console/upstreams/" + id)).startsWith("weight:"));
        assertTrue(error(console.form().formParam("models", "gpt-4o").post("/console/upstreams/" + id))
                .contains("gpt-4o is not a priced model"));
        admin().get("/admin/v1/upstreams/" + id).then().body("weight", equalTo(5)).body("models.size()", equalTo(2));

        Response tested = console.form().post("/console/upstreams/" + id + "/test");
        assertTrue(tested.getHeader("Location").contains("msg=Test+call%3A+The+credential+works"),
                tested.getHeader("Location"));
        console.form().formParam("enabled", "true").post("/console/upstreams/" + id + "/enabled").then().statusCode(303);
        admin().get("/admin/v1/upstreams/" + id).then().body("enabled", equalTo(true));
        console.form().formParam("enabled", "false").post("/console/upstreams/" + id + "/enabled").then().statusCode(303);
        admin().get("/admin/v1/upstreams/" + id).then().body("enabled", equalTo(false));

        // Without the CSRF token nothing changes.
        console.page().formParam("weight", "9").post("/console/upstreams/" + id).then().statusCode(403);
        console.page().formParam("name", "csrf-less").formParam("kind", "anthropic").formParam("anthropic.api_key", KEY)
                .post("/console/upstreams").then().statusCode(403);
        assertEquals(null, upstreamId("csrf-less"));
        console.page().post("/console/upstreams/" + id + "/delete").then().statusCode(403);

        console.form().post("/console/upstreams/" + id + "/delete").then().statusCode(303);
        admin().get("/admin/v1/upstreams/" + id).then().statusCode(404);
        console.page().get("/console/upstreams/" + id).then().statusCode(404).contentType(containsString("text/html"));
        admin().get("/admin/v1/audit?subject_id=" + id).then()
                .body("data.action", hasItems("upstream.create", "upstream.update", "upstream.test", "upstream.delete"));
        String defaultId = admin().get("/admin/v1/upstreams").then().extract().jsonPath()
                .getString("data.find { it.configured }.id");
        assertTrue(error(console.form().formParam("weight", "2").post("/console/upstreams/" + defaultId))
                .contains("configuration"));
    }

    @Test
    void bedrockAndVertexUpstreamsTakeTheirOwnFieldsAndRefuseBadOnesOnThePage() {
        assertTrue(error(console.form().formParam("name", "bedrock-bad").formParam("kind", "bedrock")
                .formParam("bedrock.access_key_id", FakeBedrock.ACCESS_KEY_ID)
                .formParam("bedrock.secret_access_key", FakeBedrock.SECRET_ACCESS_KEY).post("/console/upstreams"))
                .startsWith("region:"));
        assertTrue(error(console.form().formParam("name", "map-bad").formParam("kind", "bedrock")
                .formParam("bedrock.region", "us-east-1").formParam("bedrock.api_key", FakeBedrock.API_KEY)
                .formParam("bedrock.model_map", "claude-haiku-4-5").post("/console/upstreams")).startsWith("model_map:"));
        assertTrue(error(console.form().formParam("name", "no kind").post("/console/upstreams")).startsWith("name:"));
        assertEquals(null, upstreamId("bedrock-bad"));

        console.form().formParam("name", "console-bedrock").formParam("kind", "bedrock").formParam("priority", "1000")
                .formParam("bedrock.region", "eu-west-1").formParam("bedrock.inference_profile", "eu")
                .formParam("bedrock.access_key_id", FakeBedrock.ACCESS_KEY_ID)
                .formParam("bedrock.secret_access_key", FakeBedrock.SECRET_ACCESS_KEY)
                .formParam("bedrock.model_map", "claude-haiku-4-5 = eu.anthropic.claude-haiku-4-5-v1:0\n")
                .formParam("anthropic.api_key", KEY).post("/console/upstreams").then().statusCode(303);
        String bedrock = upstreamId("console-bedrock");
        admin().get("/admin/v1/upstreams/" + bedrock).then().body("auth", equalTo("sigv4"))
                .body("base_url", equalTo("https://bedrock-runtime.eu-west-1.amazonaws.com"))
                .body("key_hint", equalTo("…0001")).body("model_map.size()", equalTo(1));
        String page = console.page().get("/console/upstreams/" + bedrock).asString();
        assertFalse(page.contains(FakeBedrock.SECRET_ACCESS_KEY) || page.contains(FakeBedrock.ACCESS_KEY_ID), page);
        // The form sends back every field as shown; only the region changed, so the default URL follows it.
        console.form().formParam("name", "console-bedrock").formParam("weight", "1").formParam("priority", "1000")
                .formParam("price_multiplier", "1").formParam("models", "").formParam("max_concurrent", "")
                .formParam("base_url", "https://bedrock-runtime.eu-west-1.amazonaws.com")
                .formParam("bedrock.region", "us-west-2").formParam("bedrock.inference_profile", "")
                .formParam("bedrock.access_key_id", "").formParam("bedrock.secret_access_key", "")
                .formParam("bedrock.model_map", "claude-haiku-4-5-20251001 = eu.anthropic.claude-haiku-4-5-v1:0")
                .post("/console/upstreams/" + bedrock).then().statusCode(303);
        admin().get("/admin/v1/upstreams/" + bedrock).then()
                .body("base_url", equalTo("https://bedrock-runtime.us-west-2.amazonaws.com"))
                .body("inference_profile", equalTo(null)).body("auth", equalTo("sigv4")).body("key_hint", equalTo("…0001"));
        admin().get("/admin/v1/audit?subject_id=" + bedrock).then()
                .body("data.find { it.action == 'upstream.update' }.details.settings.region", equalTo("us-west-2"));
        // Another kind: refused without its required fields (nothing changes), then with them the old
        // kind's settings go and the base URL, untouched on the form, becomes the new kind's default.
        assertTrue(console.page().get("/console/upstreams/" + bedrock).asString().contains("<option value=\"bedrock\" selected>"));
        String refused = error(console.form().formParam("name", "console-bedrock").formParam("kind", "vertex")
                .formParam("base_url", "https://bedrock-runtime.us-west-2.amazonaws.com").formParam("bedrock.region", "us-west-2")
                .post("/console/upstreams/" + bedrock));
        assertTrue(refused.startsWith("project_id:"), refused);
        admin().get("/admin/v1/upstreams/" + bedrock).then().body("kind", equalTo("bedrock"));
        console.form().formParam("name", "console-bedrock").formParam("kind", "anthropic").formParam("weight", "1")
                .formParam("priority", "1000").formParam("base_url", "https://bedrock-runtime.us-west-2.amazonaws.com")
                .formParam("bedrock.region", "us-west-2").formParam("anthropic.api_key", KEY)
                .post("/console/upstreams/" + bedrock).then().statusCode(303);
        admin().get("/admin/v1/upstreams/" + bedrock).then().body("kind", equalTo("anthropic"))
                .body("base_url", equalTo("https://api.anthropic.com")).body("region", equalTo(null))
                .body("model_map", equalTo(null));

        FakeVertex vertex = FakeVertex.start();
        console.form().formParam("name", "console-vertex").formParam("kind", "vertex").formParam("priority", "1000")
                .formParam("vertex.project_id", FakeVertex.PROJECT).formParam("vertex.region", "us-east5")
                .formParam("vertex.service_account_json", vertex.serviceAccountJson())
                .post("/console/upstreams").then().statusCode(303);
        String vertexId = upstreamId("console-vertex");
        admin().get("/admin/v1/upstreams/" + vertexId).then().body("client_email", equalTo(FakeVertex.CLIENT_EMAIL))
                .body("region", equalTo("us-east5"));
        String vertexPage = console.page().get("/console/upstreams/" + vertexId).asString();
        assertFalse(vertexPage.contains("PRIVATE KEY"), "the key file is never shown");
        assertTrue(vertexPage.contains(FakeVertex.CLIENT_EMAIL));
    }

    @Test
    void aWebhookIsAddedWithItsSecretShownOnceThenDeleted() {
        Response created = console.form().formParam("url", "https://hooks.example.com/tollgate")
                .formParam("events", "key.created").formParam("events", "balance.low").post("/console/webhooks");
        assertEquals(200, created.statusCode());
        Matcher m = SECRET.matcher(created.asString());
        assertTrue(m.find(), "the signing secret is in the answer");
        String secret = m.group(1);
        String id = admin().get("/admin/v1/webhooks").then().body("data.url", hasItem("https://hooks.example.com/tollgate"))
                .extract().jsonPath().getString("data.find { it.url == 'https://hooks.example.com/tollgate' }.id");
        admin().get("/admin/v1/webhooks/" + id).then().body("events", equalTo(List.of("key.created", "balance.low")));
        String list = console.page().get("/console/webhooks").then().statusCode(200).extract().asString();
        assertTrue(list.contains("hooks.example.com"));
        assertFalse(list.contains(secret), "shown once");
        console.page().get("/console/webhooks/" + id).then().statusCode(200).body(containsString("No deliveries yet"))
                .body(not(containsString(secret)));

        assertTrue(error(console.form().formParam("url", "ftp://example.com").formParam("events", "key.created")
                .post("/console/webhooks")).startsWith("url:"));
        assertTrue(error(console.form().formParam("url", "https://example.com/x").post("/console/webhooks"))
                .startsWith("events:"));
        assertTrue(error(console.form().formParam("url", "https://example.com/x").formParam("events", "key.lost")
                .post("/console/webhooks")).contains("unknown event type key.lost"));
        console.page().formParam("url", "https://example.com/csrf-less").formParam("events", "key.created")
                .post("/console/webhooks").then().statusCode(403);
        console.page().post("/console/webhooks/" + id + "/delete").then().statusCode(403);
        console.page().post("/console/webhooks/" + id + "/test").then().statusCode(403);
        admin().get("/admin/v1/webhooks").then().body("data.url", not(hasItem("https://example.com/csrf-less")));
        admin().get("/admin/v1/webhooks/" + id + "/deliveries").then().body("data", equalTo(List.of()));

        // A test event, queued through the API's method, shows among the deliveries.
        String queued = console.form().post("/console/webhooks/" + id + "/test").then().statusCode(303)
                .extract().header("Location");
        assertTrue(queued.contains("/console/webhooks/" + id + "?msg=Test+event+msg_"), queued);
        admin().get("/admin/v1/webhooks/" + id + "/deliveries").then().body("data.event_type", equalTo(List.of("webhook.test")));
        console.page().get("/console/webhooks/" + id).then().statusCode(200).body(containsString("webhook.test"));
        console.form().post("/console/webhooks/" + UUID.randomUUID() + "/test").then().statusCode(404);

        console.form().post("/console/webhooks/" + id + "/delete").then().statusCode(303);
        admin().get("/admin/v1/webhooks/" + id).then().statusCode(404);
        console.page().get("/console/webhooks/" + id).then().statusCode(404);
        admin().get("/admin/v1/audit?subject_id=" + id).then().body("data.action", hasItems("webhook.create", "webhook.test", "webhook.delete"));
    }
}
