package dev.tollgate.ops;

import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import org.jboss.logmanager.ExtLogRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What operators rely on: health, metrics without secrets, the API docs, the reap endpoint, log context. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class OperationsTest {

    private static final String HAIKU = "claude-haiku-4-5-20251001";

    FakeUpstream fake = FakeUpstreamResource.fake();

    @Inject
    LedgerStore ledger;

    @Inject
    CallMetrics metrics;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void livenessAndReadinessWhichChecksTheDatabase() {
        Tollgate.management().get("/health/live").then().statusCode(200).body("status", equalTo("UP"));
        Tollgate.management().get("/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", hasItem("Database connections health check"))
                .body("checks.find { it.name == 'settlements' }.data.backlog", equalTo(0));
    }

    @Test
    void metricsCountCallsTokensAndCostWithoutSecretsInLabels() {
        String[] acct = Tollgate.fundedAccount("1");
        String calls = "tollgate_calls_total{endpoint=\"/v1/messages\",http_status=\"200\",model=\"" + HAIKU
                + "\",status=\"ok\"}";
        String input = "tollgate_tokens_total{kind=\"input\",model=\"" + HAIKU + "\"}";
        String reads = "tollgate_tokens_total{kind=\"cache_read\",model=\"" + HAIKU + "\"}";
        String cost = "tollgate_cost_usd_total{model=\"" + HAIKU + "\"}";
        String before = scrape();

        fake.enqueue(Scenario.reply("Hi").usage(Usage.of(1000, 100).cacheRead(2000)));
        client(acct[1]).body(messageBody("claude-haiku-4-5", 200, "Hello")).post("/v1/messages")
                .then().statusCode(200);
        expiredHold(acct[0]);
        metrics.refreshOpenHolds();

        String after = scrape();
        assertEquals(1, value(after, calls) - value(before, calls), 1e-9);
        assertEquals(1000, value(after, input) - value(before, input), 1e-9);
        assertEquals(2000, value(after, reads) - value(before, reads), 1e-9);
        // Haiku 4.5: 1000 x $1 + 2000 x $0.10 + 100 x $5 per million = $0.0017
        assertEquals(0.0017, value(after, cost) - value(before, cost), 1e-9);
        assertTrue(value(after, "tollgate_holds_open") >= 1);
        assertTrue(after.contains("tollgate_upstream_latency_seconds_bucket{path=\"/v1/messages\",status=\"200\""));
        for (String secret : List.of(acct[0], acct[1], acct[1].substring(0, 12), FakeUpstream.API_KEY)) {
            assertFalse(after.contains(secret), "metrics must not expose " + secret);
        }
        Tollgate.admin().post("/admin/v1/maintenance/reap").then().statusCode(200);
    }

    /** Metrics carry revenue per model and open holds; health details name the checks: operators only. */
    @Test
    void metricsAndHealthAreNotServedOnThePublicPort() {
        Tollgate.management().get("/metrics").then().statusCode(200);
        for (String path : List.of("/q/metrics", "/q/health", "/q/health/ready", "/q/health/live")) {
            RestAssured.get(path).then().statusCode(404);
        }
    }

    @Test
    void openApiAndSwaggerUiAreServed() {
        RestAssured.get("/q/openapi?format=json").then().statusCode(200)
                .body("paths", org.hamcrest.Matchers.hasKey("/admin/v1/maintenance/reap"));
        RestAssured.get("/q/swagger-ui/").then().statusCode(200);
    }

    @Test
    void reapEndpointReleasesExpiredHoldsAndNeedsTheAdminToken() {
        String account = Tollgate.createAccount("crashed lambda");
        Tollgate.topup(account, "1");
        expiredHold(account);
        RestAssured.post("/admin/v1/maintenance/reap").then().statusCode(401);
        assertEquals(0, new BigDecimal("0.4").compareTo(Tollgate.held(account)));

        Tollgate.admin().post("/admin/v1/maintenance/reap").then().statusCode(200)
                .body("released_holds", org.hamcrest.Matchers.greaterThanOrEqualTo(1));
        assertEquals(0, Tollgate.held(account).signum());
        assertEquals("abandoned", Tollgate.usage(account).path("data[0].status"));
        Tollgate.assertReconciled(account);
    }

    @Test
    void logLinesOfARequestCarryItsRequestId() {
        List<ExtLogRecord> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                ExtLogRecord record = (ExtLogRecord) r;
                record.copyAll(); // the MDC is read from the logging thread unless copied now
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger gateway = Logger.getLogger("dev.tollgate");
        gateway.addHandler(capture);
        try {
            String[] acct = Tollgate.fundedAccount("1");
            fake.enqueue(Scenario.hangUp());
            Response r = client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages");
            r.then().statusCode(502);
            String id = r.header("request-id");
            List<ExtLogRecord> ofCall = records.stream().filter(l -> l.getFormattedMessage().contains(id)).toList();
            assertFalse(ofCall.isEmpty(), "the upstream failure is logged");
            ofCall.forEach(l -> assertEquals(id, l.getMdc(RequestLogContext.MDC_KEY), l.getFormattedMessage()));
        } finally {
            gateway.removeHandler(capture);
        }
    }

    /** The value of one sample line of a Prometheus scrape (0 when absent). */
    private static double value(String scrape, String series) {
        return scrape.lines().filter(l -> l.startsWith(series + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim())).orElse(0.0);
    }

    private static String scrape() {
        return Tollgate.management().get("/metrics").then().statusCode(200).extract().asString();
    }

    /** A $0.40 hold that is already expired, as left by an instance that died mid-call. */
    private void expiredHold(String account) {
        ledger.hold(UUID.fromString(account), 400_000_000L, 1000, new LedgerStore.CallInfo("req_" + UUID.randomUUID(), null,
                HAIKU, "/v1/messages", true), Duration.ZERO, false);
    }
}
