package dev.tollgate.files;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.specification.RequestSpecification;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class FilesTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static RequestSpecification raw(String key) {
        return RestAssured.given().header("x-api-key", key).header("anthropic-version", "2023-06-01")
                .header("anthropic-beta", "files-api-2025-04-14");
    }

    static String upload(String key, String name, byte[] bytes) {
        return raw(key).multiPart("file", name, bytes, "text/plain").post("/v1/files").then().statusCode(200)
                .body("type", equalTo("file")).body("id", startsWith("file_")).body("size_bytes", equalTo(bytes.length))
                .extract().path("id");
    }

    static String documentCall(String fileId) {
        return "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"text\",\"text\":\"Summarise\"},"
                + "{\"type\":\"document\",\"source\":{\"type\":\"file\",\"file_id\":\"" + fileId + "\"}}]}]}";
    }

    @Test
    void uploadListReadDeleteEachAuditedAndStreamedThrough() {
        String[] acct = Tollgate.fundedAccount("5");
        byte[] bytes = "Quarterly numbers: up and to the right.\n".repeat(3000).getBytes(StandardCharsets.UTF_8);
        String id = upload(acct[1], "report.txt", bytes);
        assertTrue(fake.files.exists(id));
        assertArrayEquals(bytes, fake.files.content(id), "the upstream receives the file's bytes unchanged");
        assertEquals("files-api-2025-04-14", fake.lastRequest().header("anthropic-beta"));

        raw(acct[1]).get("/v1/files").then().statusCode(200).body("data[0].id", equalTo(id))
                .body("data[0].filename", equalTo("report.txt")).body("has_more", equalTo(false));
        raw(acct[1]).get("/v1/files/" + id).then().statusCode(200).body("id", equalTo(id));
        raw(acct[1]).get("/v1/files/" + id + "/content").then().statusCode(400)
                .body("error.type", equalTo("invalid_request_error"));
        fake.files.makeDownloadable(id);
        byte[] down = raw(acct[1]).get("/v1/files/" + id + "/content").then().statusCode(200).extract().asByteArray();
        assertArrayEquals(bytes, down);

        raw(acct[1]).delete("/v1/files/" + id).then().statusCode(200).body("type", equalTo("file_deleted"));
        assertFalse(fake.files.exists(id));
        raw(acct[1]).get("/v1/files").then().statusCode(200).body("data.size()", equalTo(0));
        raw(acct[1]).get("/v1/files/" + id).then().statusCode(404);

        List<String> actions = admin().queryParam("subject_id", id).get("/admin/v1/audit").then().statusCode(200)
                .extract().jsonPath().getList("data.action");
        assertTrue(actions.containsAll(List.of("file.upload", "file.delete")), "audited: " + actions);
        assertReconciled(acct[0]);
    }

    @Test
    void anotherAccountsFileIs404EverywhereIncludingInsideAMessagesRequest() {
        String[] a = Tollgate.fundedAccount("5");
        String[] b = Tollgate.fundedAccount("5");
        String id = upload(a[1], "secret.txt", "a's secret".getBytes(StandardCharsets.UTF_8));

        raw(b[1]).get("/v1/files/" + id).then().statusCode(404).body("error.type", equalTo("not_found_error"));
        raw(b[1]).get("/v1/files/" + id + "/content").then().statusCode(404);
        raw(b[1]).delete("/v1/files/" + id).then().statusCode(404);
        raw(b[1]).get("/v1/files").then().statusCode(200).body("data.id", not(hasItem(id)));
        assertTrue(fake.files.exists(id));

        int calls = fake.messageCalls();
        client(b[1]).body(documentCall(id)).post("/v1/messages").then().statusCode(404)
                .body("error.type", equalTo("not_found_error")).body("error.message", containsString(id));
        client(b[1]).body(documentCall(id)).post("/v1/messages/count_tokens").then().statusCode(404);
        String upload = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"container_upload\",\"file_id\":\"" + id + "\"}]}]}";
        client(b[1]).body(upload).post("/v1/messages").then().statusCode(404);
        String inBatch = "{\"requests\":[{\"custom_id\":\"steal\",\"params\":" + documentCall(id) + "}]}";
        client(b[1]).body(inBatch).post("/v1/messages/batches").then().statusCode(404)
                .body("error.message", containsString("requests[0] (custom_id \"steal\")"));
        assertEquals(calls, fake.messageCalls(), "nothing reached the upstream");
        assertEquals(0, fake.batches.created());

        // Its owner reads it (billed like any call).
        client(a[1]).body(documentCall(id)).post("/v1/messages").then().statusCode(200);
        assertEquals(calls + 1, fake.messageCalls());
        assertReconciled(a[0]);
        assertReconciled(b[0]);
    }

    @Test
    void quotasOnCountAndBytesAreEnforcedPerAccount() {
        String[] acct = Tollgate.fundedAccount("5");
        admin().contentType("application/json").body(Map.of("max_files", 1)).patch("/admin/v1/accounts/" + acct[0])
                .then().statusCode(200).body("max_files", equalTo(1));
        String first = upload(acct[1], "one.txt", "1".getBytes(StandardCharsets.UTF_8));
        raw(acct[1]).multiPart("file", "two.txt", "2".getBytes(StandardCharsets.UTF_8), "text/plain").post("/v1/files")
                .then().statusCode(403).body("error.type", equalTo("permission_error"))
                .body("error.message", containsString("File quota"));
        assertEquals(1, fake.files.uploads(), "the refused upload never reached the upstream");
        raw(acct[1]).delete("/v1/files/" + first).then().statusCode(200);

        admin().contentType("application/json").body("{\"max_files\":null,\"max_file_bytes_total\":1000}")
                .patch("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        upload(acct[1], "small.txt", new byte[400]);
        raw(acct[1]).multiPart("file", "big.txt", new byte[2000], "text/plain").post("/v1/files")
                .then().statusCode(403).body("error.message", containsString("storage quota"));
        admin().contentType("application/json").body("{\"max_files\":-1}").patch("/admin/v1/accounts/" + acct[0])
                .then().statusCode(400);
    }

    @Test
    void customSkillsAreTheirAccountsOwnAndPrebuiltOnesAreEveryones() {
        String[] a = Tollgate.fundedAccount("5");
        String[] b = Tollgate.fundedAccount("5");
        String skill = raw(a[1]).header("anthropic-beta", "skills-2025-10-02").multiPart("display_title", "Reports")
                .multiPart("files[]", "reports/SKILL.md", "---\nname: reports\n---\n".getBytes(StandardCharsets.UTF_8), "text/markdown")
                .post("/v1/skills").then().statusCode(200).body("id", startsWith("skill_")).extract().path("id");
        raw(a[1]).get("/v1/skills/" + skill).then().statusCode(200).body("id", equalTo(skill));
        raw(b[1]).get("/v1/skills/" + skill).then().statusCode(404);
        raw(b[1]).delete("/v1/skills/" + skill).then().statusCode(404);
        raw(b[1]).get("/v1/skills").then().statusCode(200).body("data.id", not(hasItem(skill))).body("data.id", hasItem("pptx"));
        raw(a[1]).get("/v1/skills").then().statusCode(200).body("data.id", hasItem(skill));
        raw(b[1]).get("/v1/skills/pptx").then().statusCode(200);

        String withSkill = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":50,\"container\":{\"skills\":["
                + "{\"type\":\"anthropic\",\"skill_id\":\"pptx\",\"version\":\"latest\"},"
                + "{\"type\":\"custom\",\"skill_id\":\"" + skill + "\",\"version\":\"latest\"}]},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Make slides\"}]}";
        int calls = fake.messageCalls();
        client(b[1]).body(withSkill).post("/v1/messages").then().statusCode(404).body("error.message", containsString(skill));
        assertEquals(calls, fake.messageCalls());
        String prebuilt = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":50,\"container\":{\"skills\":["
                + "{\"type\":\"anthropic\",\"skill_id\":\"pptx\",\"version\":\"latest\"}]},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Make slides\"}]}";
        client(b[1]).body(prebuilt).post("/v1/messages").then().statusCode(200);
        client(a[1]).body(withSkill).post("/v1/messages").then().statusCode(200);

        raw(a[1]).delete("/v1/skills/" + skill).then().statusCode(200);
        client(a[1]).body(withSkill).post("/v1/messages").then().statusCode(404);
        assertReconciled(a[0]);
        assertReconciled(b[0]);
    }
}
