package dev.tollgate.plans;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceModifiers;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.metering.TokenUsage;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The plans in memory: the default plan's markup, plans new to this instance, and the memo of charged prices. */
class PlanBookTest {

    static final TokenUsage USAGE = new TokenUsage(1000, 1000, 0, 0, 0, 0, PriceModifiers.NONE);

    /** A store whose plans the test sets, counting its reads. */
    static final class Store extends PlanStore {
        final Map<UUID, Plan> plans = new HashMap<>();
        final AtomicInteger reads = new AtomicInteger();

        Store() {
            super(null);
        }

        @Override
        public Map<UUID, Plan> plans() {
            reads.incrementAndGet();
            return Map.copyOf(plans);
        }

        @Override
        public Map<String, JsonNode> prices() {
            return Map.of();
        }
    }

    static TollgateConfig config(String defaultMarkup) {
        TollgateConfig.Plans plans = (TollgateConfig.Plans) Proxy.newProxyInstance(PlanBookTest.class.getClassLoader(),
                new Class<?>[] {TollgateConfig.Plans.class}, (p, m, a) -> Duration.ofSeconds(5));
        return (TollgateConfig) Proxy.newProxyInstance(PlanBookTest.class.getClassLoader(),
                new Class<?>[] {TollgateConfig.class}, (p, m, a) -> switch (m.getName()) {
                    case "defaultMarkupPercent" -> defaultMarkup;
                    case "plans" -> plans;
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    void accountsWithoutAPlanPayTheDefaultMarkup() {
        PriceTable prices = PriceTable.load(Optional.empty());
        PlanBook book = new PlanBook(new Store(), prices, config("10"));
        ModelPrice haiku = prices.resolve("claude-haiku-4-5").orElseThrow().price();
        ModelPrice charged = book.charged(null, haiku, false);
        assertEquals(6_600_000L, prices.calculator().costNanos(charged, USAGE)); // (1 + 5) x 1.1
        assertSame(charged, book.charged(null, haiku, false), "computed once per model");
        assertSame(haiku, new PlanBook(new Store(), prices, config("0")).charged(null, haiku, false));
    }

    @Test
    void aPlanNewHereIsReadWhereReadingMayBlock() {
        PriceTable prices = PriceTable.load(Optional.empty());
        Store store = new Store();
        PlanBook book = new PlanBook(store, prices, config("0"));
        book.refresh();
        UUID id = UUID.randomUUID();
        store.plans.put(id, new Plan(id, "new", new BigDecimal("50"), Map.of(), Instant.EPOCH, Instant.EPOCH));
        ModelPrice haiku = prices.resolve("claude-haiku-4-5").orElseThrow().price();
        assertNull(book.charged(id, haiku, false), "not on an event loop");
        int reads = store.reads.get();
        assertEquals(9_000_000L, prices.calculator().costNanos(book.charged(id, haiku, true), USAGE));
        assertEquals(reads + 1, store.reads.get());
        book.charged(id, haiku, false);
        assertEquals(reads + 1, store.reads.get(), "no read per call");
        // A change of the plan (read at the next refresh) replaces the memoised prices.
        store.plans.put(id, new Plan(id, "new", new BigDecimal("100"), Map.of(), Instant.EPOCH, Instant.EPOCH));
        book.refresh();
        assertEquals(12_000_000L, prices.calculator().costNanos(book.charged(id, haiku, false), USAGE));
    }
}
