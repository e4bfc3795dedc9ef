package dev.tollgate.files;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeBatches;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.files.FilesTest.raw;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Files that code execution writes during a call, and the container it runs in, are the calling
 * account's: it alone can read, download and delete the files and name the container again.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class CodeExecutionOutputsTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static String unique(String prefix) {
        return prefix + Long.toString(System.nanoTime(), 36);
    }

    private static String codeCall(boolean stream, String container) {
        return "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":200," + (stream ? "\"stream\":true," : "")
                + (container == null ? "" : "\"container\":" + container + ",")
                + "\"tools\":[{\"type\":\"code_execution_20250825\",\"name\":\"code_execution\"}],"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Write a CSV report\"}]}";
    }

    private void assertOwnedByOnly(String fileId, String owner, String other) {
        raw(other).get("/v1/files/" + fileId).then().statusCode(404).body("error.type", equalTo("not_found_error"));
        raw(other).get("/v1/files/" + fileId + "/content").then().statusCode(404);
        raw(other).delete("/v1/files/" + fileId).then().statusCode(404);
        raw(owner).get("/v1/files/" + fileId).then().statusCode(200).body("downloadable", equalTo(true));
        byte[] content = raw(owner).get("/v1/files/" + fileId + "/content").then().statusCode(200).extract().asByteArray();
        assertArrayEquals(("id,total\n" + fileId + ",42\n").getBytes(StandardCharsets.UTF_8), content);
    }

    private void assertContainerOnlyFor(String container, String owner, String other) {
        int calls = fake.messageCalls();
        for (String named : List.of("\"" + container + "\"", "{\"id\":\"" + container + "\"}")) {
            client(other).body(codeCall(false, named)).post("/v1/messages").then().statusCode(404)
                    .body("error.type", equalTo("not_found_error"))
                    .body("error.message", equalTo("Container not found: " + container));
        }
        assertEquals(calls, fake.messageCalls(), "another account's container never reaches the upstream");
        fake.enqueue(Scenario.defaultReply());
        client(owner).body(codeCall(false, "\"" + container + "\"")).post("/v1/messages").then().statusCode(200);
        assertEquals(container, fake.lastRequest().json().path("container").asText());
    }

    @Test
    void aJsonResponsesFilesAndContainerAreTheCallingAccountsOnly() throws Exception {
        String[] a = Tollgate.fundedAccount("100");
        String[] b = Tollgate.fundedAccount("100");
        String container = unique("container_011A");
        String first = unique("file_011A");
        String second = unique("file_011B");
        fake.enqueue(Scenario.defaultReply().codeExecution(container, first, second));
        client(a[1]).body(codeCall(false, null)).post("/v1/messages").then().statusCode(200)
                .body("container.id", equalTo(container))
                .body("content[2].content.content[1].file_id", equalTo(second));

        assertOwnedByOnly(first, a[1], b[1]);
        assertOwnedByOnly(second, a[1], b[1]);
        assertContainerOnlyFor(container, a[1], b[1]);
        raw(b[1]).get("/v1/files").then().statusCode(200).body("data.size()", equalTo(0));
        // The list shows the upstream's own object once the gateway has read it.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!"report.csv".equals(raw(a[1]).get("/v1/files?limit=1000").then().statusCode(200).extract()
                .jsonPath().getString("data.find { it.id == '" + first + "' }.filename"))) {
            assertTrue(System.nanoTime() < deadline, "the generated file's object never reached the list");
            Thread.sleep(50);
        }
        raw(a[1]).delete("/v1/files/" + first).then().statusCode(200).body("type", equalTo("file_deleted"));
        raw(a[1]).get("/v1/files/" + first).then().statusCode(404);
        Tollgate.awaitNothingHeld(a[0]);
        assertReconciled(a[0]);
    }

    @Test
    void aStreamedResponsesFilesAndContainerAreTheCallingAccountsOnly() throws Exception {
        String[] a = Tollgate.fundedAccount("100");
        String[] b = Tollgate.fundedAccount("100");
        String container = unique("container_011S");
        String file = unique("file_011S");
        fake.enqueue(Scenario.defaultReply().codeExecution(container, file));
        String sse = client(a[1]).body(codeCall(true, null)).post("/v1/messages").then().statusCode(200)
                .extract().asString();
        assertTrue(sse.contains("\"bash_code_execution_output\"") && sse.contains(file), sse);
        assertOwnedByOnly(file, a[1], b[1]);
        assertContainerOnlyFor(container, a[1], b[1]);
        Tollgate.awaitNothingHeld(a[0]);
        assertReconciled(a[0]);
    }

    @Test
    void onlyCodeExecutionToolResultsCountNotAToolInputNorACallWithoutCodeExecution() {
        String[] a = Tollgate.fundedAccount("100");
        String[] victim = Tollgate.fundedAccount("100");
        String victims = unique("file_011V");
        // The model's own tool input may name any id: it is no file the call made.
        fake.enqueue(Scenario.defaultReply().toolUse("save", "{\"type\":\"bash_code_execution_output\",\"file_id\":\""
                + victims + "\"}"));
        client(a[1]).body(codeCall(false, null)).post("/v1/messages").then().statusCode(200);
        raw(a[1]).get("/v1/files/" + victims).then().statusCode(404);

        // A call that runs no code execution is not inspected at all.
        String notInspected = unique("file_011N");
        fake.enqueue(Scenario.defaultReply().codeExecution(unique("container_011N"), notInspected));
        client(a[1]).body(Tollgate.messageBody("claude-sonnet-4-6", 100, "Hello")).post("/v1/messages")
                .then().statusCode(200).body("content[2].content.content[0].file_id", equalTo(notInspected));
        raw(a[1]).get("/v1/files/" + notInspected).then().statusCode(404);

        // An id already recorded as one account's is never taken over by another's call.
        String taken = unique("file_011T");
        fake.enqueue(Scenario.defaultReply().codeExecution(unique("container_011T"), taken));
        client(victim[1]).body(codeCall(false, null)).post("/v1/messages").then().statusCode(200);
        fake.enqueue(Scenario.defaultReply().codeExecution(unique("container_011U"), taken));
        client(a[1]).body(codeCall(false, null)).post("/v1/messages").then().statusCode(200);
        raw(a[1]).get("/v1/files/" + taken).then().statusCode(404);
        raw(victim[1]).get("/v1/files/" + taken).then().statusCode(200)
                .body("id", containsString(taken));
    }

    @Test
    void aBatchRequestsFilesAndContainerAreTheBatchAccountsOnceSettled() throws Exception {
        String[] a = Tollgate.fundedAccount("100");
        String[] b = Tollgate.fundedAccount("100");
        String container = unique("container_011Q");
        String file = unique("file_011Q");
        fake.batches.plan("code-1", FakeBatches.Outcome.succeededWithCodeExecution(Usage.of(100, 50), container, file));
        String params = codeCall(false, null);
        client(a[1]).body("{\"requests\":[{\"custom_id\":\"code-1\",\"params\":" + params + "}]}")
                .post("/v1/messages/batches").then().statusCode(200);
        fake.batches.endAll();
        Tollgate.admin().post("/admin/v1/maintenance/batches").then().statusCode(200);
        assertOwnedByOnly(file, a[1], b[1]);
        assertContainerOnlyFor(container, a[1], b[1]);
        String inBatch = "{\"requests\":[{\"custom_id\":\"reuse-1\",\"params\":" + codeCall(false, "\"" + container + "\"") + "}]}";
        client(b[1]).body(inBatch).post("/v1/messages/batches").then().statusCode(404)
                .body("error.message", containsString("requests[0] (custom_id \"reuse-1\")"));
        Tollgate.awaitNothingHeld(a[0]);
        assertReconciled(a[0]);
    }
}
