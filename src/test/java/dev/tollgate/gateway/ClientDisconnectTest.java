package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.RawClient;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.Socket;
import java.net.URL;
import java.time.Duration;
import java.util.Collections;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client that leaves before its answer (docs/architecture.md, "Stream cuts"): gone before the call
 * went upstream, it is not sent and costs nothing; gone while a JSON call runs, the call finishes and
 * is billed as client_disconnected; gone before a stream's head, the upstream is stopped once
 * message_start has fixed the input.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class ClientDisconnectTest {

    @TestHTTPResource("/v1/messages")
    URL messagesUrl;

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void clientGoneWhileTheCallIsPreparedIsNeitherSentNorBilled() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        // A key not yet cached: the call is prepared off the event loop (key look-up, hold in the
        // database), and the connection's close is seen meanwhile.
        try (Socket socket = RawClient.open(messagesUrl)) {
            RawClient.send(socket, acct[1], Tollgate.messageBody("claude-sonnet-4-5", 100, "hi"));
        }
        Thread.sleep(1500);
        assertEquals(0, fake.messageCalls(), "a call whose client is gone must not be sent upstream");
        for (Object status : Tollgate.usage(acct[0]).jsonPath().getList("data.status")) {
            assertEquals("client_disconnected", status);
        }
        for (Object cost : Tollgate.usage(acct[0]).jsonPath().getList("data.cost_usd")) {
            assertEquals("0.000000000", cost);
        }
        assertEquals(0, Tollgate.balance(acct[0]).compareTo(new java.math.BigDecimal("5")));
        assertReconciled(acct[0]);
    }

    @Test
    void jsonCallWhoseClientLeftIsFinishedAndBilledAsClientDisconnected() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        fake.enqueue(Scenario.delayBeforeHeaders(Duration.ofMillis(800)).usage(Usage.of(100, 10)));
        try (Socket socket = RawClient.open(messagesUrl)) {
            RawClient.send(socket, acct[1], Tollgate.messageBody("claude-sonnet-4-5", 100, "hi"));
            awaitUpstreamCall();
        }
        Response usage = UpstreamTimeoutsTest.onlyUsage(acct[0]);
        assertEquals("client_disconnected", usage.path("data[0].status"));
        assertEquals(100, (int) usage.path("data[0].input_tokens"));
        assertEquals(10, (int) usage.path("data[0].output_tokens"));
        assertEquals("0.000450000", usage.path("data[0].cost_usd")); // 100 x 3 + 10 x 15 micro-USD
        assertReconciled(acct[0]);
    }

    @Test
    void streamWhoseClientLeftBeforeItsHeadIsStoppedAfterMessageStart() throws Exception {
        String[] acct = Tollgate.fundedAccount("5");
        String words = String.join(" ", Collections.nCopies(200, "word"));
        fake.enqueue(Scenario.reply(words).usage(Usage.of(300, 200)).deltaDelay(Duration.ofMillis(20))
                .headersDelay(Duration.ofMillis(800)));
        try (Socket socket = RawClient.open(messagesUrl)) {
            RawClient.send(socket, acct[1], UpstreamTimeoutsTest.streamBody("claude-sonnet-4-5", 1000));
            awaitUpstreamCall();
        }
        Response usage = UpstreamTimeoutsTest.onlyUsage(acct[0]);
        assertEquals("client_disconnected", usage.path("data[0].status"));
        assertEquals(300, (int) usage.path("data[0].input_tokens"));
        int output = usage.path("data[0].output_tokens");
        assertTrue(output < 200, "billed output " + output + " must be what was produced, not all 200");
        assertEquals(0, fake.completedStreams(), "the upstream must be stopped, not drained");
        assertReconciled(acct[0]);
    }

    private void awaitUpstreamCall() throws InterruptedException {
        for (int i = 0; i < 200 && fake.messageCalls() == 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(1, fake.messageCalls(), "the call must have reached the upstream");
    }
}
