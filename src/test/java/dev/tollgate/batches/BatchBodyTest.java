package dev.tollgate.batches;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import static dev.tollgate.batches.BatchesTest.batch;
import static dev.tollgate.batches.BatchesTest.request;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A batch create body is spooled to a temporary file, never held whole, and the file never outlives the create. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class BatchBodyTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private static Set<Path> spooled() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            Set<Path> found = new HashSet<>();
            files.filter(p -> p.getFileName().toString().startsWith("tollgate-batch-")).forEach(found::add);
            return found;
        }
    }

    @Test
    void anAliasedModelIsSplicedIntoTheSentBodyAndEveryOtherByteIsKept() throws Exception {
        String[] acct = Tollgate.fundedAccount("10");
        Set<Path> before = spooled();
        String aliased = "{\"custom_id\":\"alias-1\", \"params\" : {\"model\" : \"anthropic/claude-haiku-4.5\","
                + "\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"h\u00e9\"}]}}";
        String body = "{ \"requests\" : [" + request("plain-1", "claude-haiku-4-5", 10) + ",\n " + aliased + ","
                + request("plain-2", "claude-sonnet-4-6", 10) + "] }";
        client(acct[1]).body(body).post("/v1/messages/batches").then().statusCode(200);
        assertEquals(body.replace("\"anthropic/claude-haiku-4.5\"", "\"claude-haiku-4-5-20251001\""),
                fake.lastRequest().bodyString());

        String unchanged = batch(request("same-1", "claude-haiku-4-5", 10));
        client(acct[1]).body(unchanged).post("/v1/messages/batches").then().statusCode(200);
        assertEquals(unchanged, fake.lastRequest().bodyString());
        assertEquals(before, spooled(), "no temporary file is left behind");
    }

    @Test
    void refusedCreatesLeaveNoTemporaryFile() throws Exception {
        String[] acct = Tollgate.fundedAccount("0.01");
        Set<Path> before = spooled();
        client(acct[1]).body(batch(request("bad id!", "claude-haiku-4-5", 10))).post("/v1/messages/batches")
                .then().statusCode(400);
        client(acct[1]).body(batch(request("big-1", "claude-sonnet-4-6", 64000))).post("/v1/messages/batches")
                .then().statusCode(402);
        client("sk-tg-not-a-key").body(batch(request("x-1", "claude-haiku-4-5", 10))).post("/v1/messages/batches")
                .then().statusCode(401);
        assertEquals(0, fake.batches.created());
        assertEquals(before, spooled(), "no temporary file is left behind");
    }

    @Test
    void aDeclaredBodyOver256MbIsRefusedAtOnce() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        Set<Path> before = spooled();
        try (Socket socket = new Socket("localhost", RestAssured.port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/messages/batches HTTP/1.1\r\nHost: localhost\r\nx-api-key: " + acct[1] + "\r\n"
                    + "anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\nContent-Length: "
                    + (256L * 1024 * 1024 + 1) + "\r\n\r\n{\"requests\":[").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            int n;
            try {
                while ((n = in.read(buf)) > 0) {
                    answer.write(buf, 0, n);
                }
            } catch (IOException e) {
                // closed after the answer
            }
            String text = answer.toString(StandardCharsets.UTF_8);
            assertTrue(text.startsWith("HTTP/1.1 413"), text);
            assertTrue(text.contains("\"type\":\"request_too_large\""), text);
        }
        assertEquals(0, fake.batches.created());
        assertEquals(before, spooled());
        client(acct[1]).get("/v1/messages/batches").then().statusCode(200).body("data.size()", equalTo(0));
    }
}
