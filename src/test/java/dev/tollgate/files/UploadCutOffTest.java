package dev.tollgate.files;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.tollgate.files.UploadLimitsTest.MEGABYTE;
import static dev.tollgate.files.UploadLimitsTest.PREAMBLE;
import static dev.tollgate.files.UploadLimitsTest.await;
import static dev.tollgate.files.UploadLimitsTest.chunk;
import static dev.tollgate.files.UploadLimitsTest.connect;
import static dev.tollgate.files.UploadLimitsTest.head;
import static dev.tollgate.files.UploadLimitsTest.response;
import static dev.tollgate.files.UploadLimitsTest.rows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An upload of unknown length (chunked) that crosses the largest file size is cut off with 413 as
 * the bytes pass, the upstream upload aborted and nothing recorded. The limit is lowered to 8 MB
 * here so that crossing it takes a moment: the same code path refuses the 501st megabyte at the
 * default 500 MB, whose declared form {@link UploadLimitsTest} tests at full size.
 */
@QuarkusTest
@TestProfile(UploadCutOffTest.SmallFiles.class)
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UploadCutOffTest {

    private static final long LIMIT = 8L * 1024 * 1024;

    public static class SmallFiles implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("tollgate.files.max-file-bytes", Long.toString(LIMIT));
        }
    }

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    AgroalDataSource dataSource;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private long count(String account) {
        try {
            return rows(dataSource, "file_uploads", account);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aChunkedUploadThatCrossesTheLimitIsCutOffWhileStreaming() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
                boolean[] arrivedWhileSending = {false};
        long[] sent = {0};
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            head(out, acct[1], "Transfer-Encoding: chunked");
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                try {
                    chunk(out, PREAMBLE);
                    for (int i = 0; i < 64; i++) {
                        chunk(out, MEGABYTE);
                        sent[0] += MEGABYTE.length;
                        if (i == 4) {
                            // The upstream sees the upload while the client is still sending it: streamed, not held.
                            await(() -> fake.files.bytesReceived() > 0, "nothing reached the upstream after 4 MB");
                            arrivedWhileSending[0] = true;
                        }
                    }
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException | InterruptedException e) {
                    // the gateway closed the connection after refusing: expected
                }
            });
            String answer = response(socket.getInputStream());
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.contains("\"type\":\"request_too_large\""), answer);
            sender.get(30, TimeUnit.SECONDS);
        }
        assertTrue(arrivedWhileSending[0]);
        assertTrue(sent[0] > LIMIT, "the client sent " + sent[0] + " bytes");
        await(() -> fake.files.uploadsAborted() == 1, "the upstream upload was not aborted");
        assertTrue(fake.files.bytesReceived() <= LIMIT + 1024 * 1024 + PREAMBLE.length,
                "the upstream got " + fake.files.bytesReceived() + " bytes");
        assertEquals(0, fake.files.uploads());
        await(() -> count(acct[0]) == 0, "the upload still counts in the quota");
        assertEquals(0, rows(dataSource, "files", acct[0]));
    }
}
