package dev.tollgate.files;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import jakarta.inject.Inject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static dev.tollgate.files.FilesTest.raw;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Uploads at the edges: a declared length over 500 MB is 413 before anything is read, and a client
 * that resets mid-upload leaves nothing behind ({@link UploadCutOffTest}: one that crosses the limit
 * while streaming). Bodies are generated as they are sent (one reused megabyte), never allocated whole.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class UploadLimitsTest {

    static final long MAX_FILE = 500L * 1024 * 1024;
    static final String BOUNDARY = "tollgate-upload-test";
    static final byte[] PREAMBLE = ("--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\";"
            + " filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    static final byte[] MEGABYTE = new byte[1024 * 1024];

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    AgroalDataSource dataSource;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static Socket connect() throws IOException {
        Socket socket = new Socket("localhost", RestAssured.port);
        socket.setSoTimeout(30_000);
        return socket;
    }

    static void head(OutputStream out, String key, String lengthHeader) throws IOException {
        out.write(("POST /v1/files HTTP/1.1\r\nHost: localhost\r\nx-api-key: " + key + "\r\n"
                + "anthropic-version: 2023-06-01\r\nanthropic-beta: files-api-2025-04-14\r\n"
                + "Content-Type: multipart/form-data; boundary=" + BOUNDARY + "\r\n" + lengthHeader + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** The response as text (status line, headers, body), read until the gateway closes the connection. */
    static String response(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        try {
            while ((n = in.read(buf)) > 0) {
                all.write(buf, 0, n);
            }
        } catch (IOException e) {
            // a reset after the response: what arrived is the answer
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    /** One response (status line, headers, a Content-Length body), without waiting for the connection to close. */
    static String headAndBody(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        int expected = -1;
        int b;
        while ((b = in.read()) >= 0) {
            all.write(b);
            String text = all.toString(StandardCharsets.UTF_8);
            int headEnd = text.indexOf("\r\n\r\n");
            if (headEnd >= 0 && expected < 0) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(text);
                expected = headEnd + 4 + (m.find() ? Integer.parseInt(m.group(1)) : 0);
            }
            if (expected >= 0 && all.size() >= expected) {
                break;
            }
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    static long rows(AgroalDataSource dataSource, String table, String account) throws SQLException {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM " + table + " WHERE account_id = ?")) {
            ps.setObject(1, UUID.fromString(account));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, what);
            Thread.sleep(10);
        }
    }

    @Test
    void aDeclaredLengthOver500MbIsRefusedBeforeAnyByteIsRead() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        try (Socket socket = connect()) {
            head(socket.getOutputStream(), acct[1], "Content-Length: " + (MAX_FILE + 2 * 1024 * 1024));
            String answer = response(socket.getInputStream());
            assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
            assertTrue(answer.contains("\"type\":\"request_too_large\""), answer);
        }
        assertEquals(0, fake.files.uploadsStarted(), "nothing reached the upstream");
        assertEquals(0, rows(dataSource, "file_uploads", acct[0]));
        assertEquals(0, rows(dataSource, "files", acct[0]));
    }

    @Test
    void aClientThatResetsMidUploadLeavesNoFileNoQuotaUseAndAbortsTheUpstream() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            head(out, acct[1], "Content-Length: " + (PREAMBLE.length + 10L * MEGABYTE.length + 32));
            out.write(PREAMBLE);
            out.write(MEGABYTE);
            out.write(MEGABYTE);
            out.flush();
            await(() -> fake.files.bytesReceived() > 0, "the upload never reached the upstream");
            assertEquals(1, rows(dataSource, "file_uploads", acct[0]), "an upload in flight counts in the quota");
            socket.setSoLinger(true, 0); // close with a reset
        }
        await(() -> fake.files.uploadsAborted() == 1, "the upstream upload was not aborted");
        await(() -> count("file_uploads", acct[0]) == 0, "the reset upload still counts in the quota");
        assertEquals(0, rows(dataSource, "files", acct[0]));
        assertEquals(0, fake.files.uploads(), "nothing was stored upstream");
        raw(acct[1]).get("/v1/files").then().statusCode(200).body("data.size()", equalTo(0));
        FilesTest.upload(acct[1], "after.txt", "still works".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aSlowUploadThatKeepsMovingOutlastsTheResponseTimeout() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        byte[] piece = new byte[64 * 1024];
        int pieces = 5;
        byte[] end = ("\r\n--" + BOUNDARY + "--\r\n").getBytes(StandardCharsets.US_ASCII);
        long started = System.nanoTime();
        String answer;
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            head(out, acct[1], "Connection: close\r\nContent-Length: " + (PREAMBLE.length + (long) pieces * piece.length + end.length));
            out.write(PREAMBLE);
            for (int i = 0; i < pieces; i++) {
                out.write(piece);
                out.flush();
                Thread.sleep(900);
            }
            out.write(end);
            out.flush();
            answer = response(socket.getInputStream());
        }
        // The test profile's response timeout is 3 s: this upload took longer, and never went 3 s without bytes.
        assertTrue(System.nanoTime() - started > TimeUnit.SECONDS.toNanos(4), "the upload was not slow enough to prove it");
        assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
        assertEquals(1, rows(dataSource, "files", acct[0]));
        assertEquals(1, fake.files.uploads());
    }

    @Test
    void anUploadThatStallsForTheResponseTimeoutIsCutOffAndLeavesNothing() throws Exception {
        String[] acct = Tollgate.fundedAccount("1");
        String answer;
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            head(out, acct[1], "Content-Length: " + (PREAMBLE.length + 10L * MEGABYTE.length + 32));
            out.write(PREAMBLE);
            out.write(MEGABYTE);
            out.flush();
            answer = headAndBody(socket.getInputStream()); // then nothing more: the 3 s timeout passes
        }
        assertTrue(answer.startsWith("HTTP/1.1 504"), answer);
        await(() -> fake.files.uploadsAborted() == 1, "the upstream upload was not aborted");
        await(() -> count("file_uploads", acct[0]) == 0, "the stalled upload still counts in the quota");
        assertEquals(0, rows(dataSource, "files", acct[0]));
    }

    private long count(String table, String account) {
        try {
            return rows(dataSource, table, account);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    static void chunk(OutputStream out, byte[] bytes) throws IOException {
        out.write((Integer.toHexString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
}
