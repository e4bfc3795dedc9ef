package dev.tollgate.console;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.tollgate.console.ConsoleUpstreamsWebhooksTest.error;
import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The console's forms for plans, model prices and a key's access, each through its admin API method. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ConsolePlansPricesKeysTest {

    private ConsoleClient console;

    @BeforeEach
    void signIn() {
        console = ConsoleClient.signIn();
    }

    @Test
    void aPlanIsEditedWithItsModelOverridesAndChargesByThem() throws InterruptedException {
        String plan = admin().body(Map.of("name", "console-edit " + System.nanoTime(), "markup_percent", "20"))
                .post("/admin/v1/plans").then().statusCode(201).extract().path("id");
        console.form().formParam("name", "Partners").formParam("markup_percent", "-10")
                .formParam("model_overrides", "claude-haiku-4-5 markup_percent=50\n\nclaude-sonnet-4-6 input=2 output=10 cache_read=0.2\n")
                .post("/console/plans/" + plan).then().statusCode(303);
        admin().get("/admin/v1/plans/" + plan).then().body("name", equalTo("Partners")).body("markup_percent", equalTo("-10"))
                .body("model_overrides.'claude-haiku-4-5-20251001'.markup_percent", equalTo("50"))
                .body("model_overrides.'claude-sonnet-4-6'.output", equalTo("10"));
        console.page().get("/console/plans").then().statusCode(200)
                .body(containsString("claude-sonnet-4-6 input=2 output=10 cache_read=0.2"));

        for (String[] bad : new String[][] {{"claude-haiku-4-5 markup_percent=-200", "model_overrides.claude-haiku-4-5"},
                {"gpt-4 markup_percent=1", "model_overrides.gpt-4"}, {"claude-haiku-4-5", "model_overrides:"},
                {"claude-haiku-4-5 markup", "model_overrides.claude-haiku-4-5: write field=value"}}) {
            String message = error(console.form().formParam("name", "Partners").formParam("markup_percent", "1")
                    .formParam("model_overrides", bad[0]).post("/console/plans/" + plan));
            assertTrue(message.startsWith(bad[1]), message);
        }
        assertTrue(error(console.form().formParam("name", "Partners").formParam("markup_percent", "ten")
                .post("/console/plans/" + plan)).startsWith("markup_percent"));
        admin().get("/admin/v1/plans/" + plan).then().body("markup_percent", equalTo("-10"));
        console.page().formParam("name", "csrf-less").formParam("markup_percent", "1").post("/console/plans/" + plan)
                .then().statusCode(403);
        console.form().formParam("name", "x").formParam("markup_percent", "1")
                .post("/console/plans/00000000-0000-0000-0000-000000000001").then().statusCode(404);

        // An account on the plan pays by the override, and its ledger agrees with its usage records.
        String[] acct = Tollgate.fundedAccount("5");
        admin().body(Map.of("plan_id", plan)).patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(200);
        Tollgate.awaitNothingHeld(acct[0]);
        Tollgate.assertReconciled(acct[0]);

        // Emptied overrides: none.
        console.form().formParam("name", "Partners").formParam("markup_percent", "-10").formParam("model_overrides", "")
                .post("/console/plans/" + plan).then().statusCode(303);
        admin().get("/admin/v1/plans/" + plan).then().body("model_overrides.size()", equalTo(0));
    }

    @Test
    void aModelsPricesAreSetFromThePageAndRemoved() {
        // The form starts from the prices in effect, band included (a PUT without one would remove it).
        console.page().get("/console/prices?edit=claude-haiku-5-5").then().statusCode(200)
                .body(containsString("name=\"long_context.threshold_tokens\" value=\"100000\""));
        String model = "console-test-model";
        console.form().formParam("model", model).formParam("input", "1.5").formParam("output", "7")
                .formParam("cache_read", "").formParam("long_context.threshold_tokens", "150000")
                .formParam("long_context.input", "3").formParam("long_context.output", "14")
                .formParam("long_context.cache_read", "0.5").formParam("display_name", "Console Test")
                .formParam("aliases", "console-test-alias, console-test-alias-2").formParam("max_tokens", "4096")
                .post("/console/prices").then().statusCode(303);
        try {
            admin().get("/admin/v1/prices/" + model).then().statusCode(200).body("input", equalTo("1.5"))
                    .body("source", equalTo("stored")).body("cache_read", equalTo("0.15"))
                    .body("long_context.threshold_tokens", equalTo(150000)).body("long_context.output", equalTo("14"))
                    .body("long_context.cache_read", equalTo("0.5")).body("display_name", equalTo("Console Test"))
                    .body("aliases", equalTo(List.of("console-test-alias", "console-test-alias-2")))
                    .body("max_tokens", equalTo(4096));
            // Every fact the API stores is on the form again, so saving it unchanged keeps them.
            console.page().get("/console/prices?edit=" + model).then().body(containsString("value=\"1.5\""))
                    .body(containsString("value=\"console-test-alias, console-test-alias-2\""))
                    .body(containsString("name=\"long_context.cache_read\" value=\"0.5\""))
                    .body(containsString("value=\"Console Test\"")).body(containsString("value=\"4096\""));

            assertTrue(error(console.form().formParam("model", model).formParam("input", "abc").formParam("output", "7")
                    .post("/console/prices")).startsWith("input"));
            assertTrue(error(console.form().formParam("model", "Bad Model").formParam("input", "1").formParam("output", "7")
                    .post("/console/prices")).startsWith("model id"));
            assertTrue(error(console.form().formParam("model", model).formParam("input", "1").formParam("output", "7")
                    .formParam("long_context.threshold_tokens", "many").post("/console/prices"))
                    .startsWith("long_context.threshold_tokens"));
            admin().get("/admin/v1/prices/" + model).then().body("input", equalTo("1.5"));
            console.page().formParam("model", model).formParam("input", "9").formParam("output", "9")
                    .post("/console/prices").then().statusCode(403);
            console.page().post("/console/prices/" + model + "/delete").then().statusCode(403);
            admin().get("/admin/v1/audit?subject_id=" + model).then().body("data.action", equalTo(List.of("price.set")));
        } finally {
            console.form().post("/console/prices/" + model + "/delete").then().statusCode(303);
        }
        admin().get("/admin/v1/prices/" + model).then().statusCode(404);
        assertTrue(error(console.form().post("/console/prices/" + model + "/delete")).contains("no stored price"));
    }

    @Test
    void aKeysAllowedModelsAddressesAndExpiryAreSetAndCleared() throws InterruptedException {
        String[] acct = Tollgate.fundedAccount("2");
        String key = Tollgate.newestKeyId(acct[0]).toString();
        console.form().formParam("allowed_models", "claude-haiku-4-5").formParam("allowed_ips", "127.0.0.0/8, ::1/128")
                .formParam("expires_at", "2099-01-31T00:00:00Z").post("/console/keys/" + key + "/access")
                .then().statusCode(303);
        admin().get("/admin/v1/accounts/" + acct[0] + "/keys").then()
                .body("data[0].allowed_models", equalTo(List.of("claude-haiku-4-5-20251001")))
                .body("data[0].allowed_ips", equalTo(List.of("127.0.0.0/8", "::1/128")))
                .body("data[0].expires_at", equalTo("2099-01-31T00:00:00Z"));
        client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(200);
        client(acct[1]).body(messageBody("claude-sonnet-4-6", 10, "hi")).post("/v1/messages").then().statusCode(403);
        console.page().get("/console/accounts/" + acct[0]).then()
                .body(containsString("value=\"127.0.0.0/8, ::1/128\""));

        console.form().formParam("allowed_ips", "10.0.0.0/8").formParam("allowed_models", "")
                .formParam("expires_at", "").post("/console/keys/" + key + "/access").then().statusCode(303);
        client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "hi")).post("/v1/messages").then().statusCode(403);

        assertTrue(error(console.form().formParam("allowed_ips", "not-an-ip").post("/console/keys/" + key + "/access"))
                .startsWith("allowed_ips"));
        assertTrue(error(console.form().formParam("allowed_models", "gpt-4o").post("/console/keys/" + key + "/access"))
                .startsWith("allowed_models"));
        assertTrue(error(console.form().formParam("expires_at", "next week").post("/console/keys/" + key + "/access"))
                .startsWith("expires_at"));
        console.page().formParam("allowed_ips", "").post("/console/keys/" + key + "/access").then().statusCode(403);
        admin().get("/admin/v1/accounts/" + acct[0] + "/keys").then()
                .body("data[0].allowed_ips", equalTo(List.of("10.0.0.0/8"))).body("data[0].allowed_models", nullValue())
                .body("data[0].expires_at", nullValue());

        console.form().formParam("allowed_ips", "").post("/console/keys/" + key + "/access").then().statusCode(303);
        client(acct[1]).body(messageBody("claude-sonnet-4-6", 10, "hi")).post("/v1/messages").then().statusCode(200);
        console.form().post("/console/keys/00000000-0000-0000-0000-000000000001/access").then().statusCode(404);
        Tollgate.awaitNothingHeld(acct[0]);
        Tollgate.assertReconciled(acct[0]);
    }
}
