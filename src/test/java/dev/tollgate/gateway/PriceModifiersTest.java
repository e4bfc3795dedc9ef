package dev.tollgate.gateway;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static dev.tollgate.support.Tollgate.balance;
import static dev.tollgate.support.Tollgate.client;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fast mode and US-only inference through the gateway (digest §7.3): billed as the upstream reports
 * them applied, the request's standing in where it is silent, and held at the modified price.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class PriceModifiersTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    static String body(String model, boolean stream, String modifiers) {
        return "{\"model\":\"" + model + "\",\"max_tokens\":2000," + (stream ? "\"stream\":true," : "") + modifiers
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Refactor this\"}]}";
    }

    private static void call(String key, String body) {
        client(key).header("anthropic-beta", "fast-mode-2026-02-01").body(body).post("/v1/messages")
                .then().statusCode(200);
    }

    /** Opus 4.6, 1000 in + 1000 out: fast $30/$150, times 1.1 for US-only = 0.198 USD, in JSON and in SSE. */
    @Test
    void fastModeInTheUsIsBilledAtItsPriceForJsonAndStreams() {
        String[] acct = Tollgate.fundedAccount("10");
        String modifiers = "\"speed\":\"fast\",\"inference_geo\":\"us\",";
        fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)));
        call(acct[1], body("claude-opus-4-6", false, modifiers));
        fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)));
        call(acct[1], body("claude-opus-4-6", true, modifiers));

        assertEquals(0, new BigDecimal("9.604").compareTo(balance(acct[0])), "two calls of 0.198 USD");
        for (Object cost : Tollgate.usage(acct[0]).jsonPath().getList("data.cost_usd")) {
            assertEquals("0.198000000", cost);
        }
        assertReconciled(acct[0]);
    }

    /** The upstream served a fast request at standard speed (§2.3 usage.speed): standard rates, US-only kept. */
    @Test
    void whatTheUpstreamAppliedWins() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)).appliedSpeed("standard"));
        call(acct[1], body("claude-opus-4-6", true, "\"speed\":\"fast\",\"inference_geo\":\"us\","));
        // (1000 x 5 + 1000 x 25) x 1.1 = 0.033 USD
        assertEquals("0.033000000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    /** An upstream whose usage says nothing of speed or region: the request's modifiers are billed. */
    @Test
    void aSilentUpstreamIsBilledAsRequested() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Done").usage(Usage.of(1000, 1000)).legacyUsage());
        call(acct[1], body("claude-opus-5-5", false, "\"speed\":\"fast\",\"inference_geo\":\"us\","));
        // (1000 x 8 + 1000 x 40) x 1.1 = 0.0528 USD
        assertEquals("0.052800000", Tollgate.usage(acct[0]).path("data[0].cost_usd"));
        assertReconciled(acct[0]);
    }

    /** 2000 max_tokens at $25 fit 0.06 USD; at fast mode's $150 they do not: the hold is at the fast price. */
    @Test
    void theHoldIsAtTheModifiedPrice() {
        String[] acct = Tollgate.fundedAccount("0.06");
        fake.enqueue(Scenario.reply("Done").usage(Usage.of(10, 10)));
        client(acct[1]).body(body("claude-opus-4-6", false, "\"speed\":\"fast\",")).post("/v1/messages")
                .then().statusCode(402).body("error.type", equalTo("billing_error"));
        client(acct[1]).body(body("claude-opus-4-6", false, "")).post("/v1/messages").then().statusCode(200);
        assertEquals(1, fake.messageCalls());
        assertReconciled(acct[0]);
    }

    @Test
    void fastModeOnAModelWithoutAFastPriceIsRefused() {
        String[] acct = Tollgate.fundedAccount("1");
        client(acct[1]).body(body("claude-sonnet-4-6", false, "\"speed\":\"fast\",")).post("/v1/messages")
                .then().statusCode(400).body("type", equalTo("error"))
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.message", containsString("fast mode is not available for claude-sonnet-4-6"))
                .body("error.message", containsString("claude-opus-4-6"));
        client(acct[1]).body(body("claude-opus-4-6", false, "\"speed\":\"warp\",")).post("/v1/messages")
                .then().statusCode(400).body("error.message", equalTo("speed: Input should be 'standard' or 'fast'"));
        assertEquals(0, fake.messageCalls());
        assertEquals(0, BigDecimal.ONE.compareTo(balance(acct[0])));
    }
}
