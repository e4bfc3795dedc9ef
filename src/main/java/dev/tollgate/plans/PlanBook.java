package dev.tollgate.plans;

import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceTable;
import io.quarkus.logging.Log;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import java.math.BigDecimal;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The plans and stored prices in memory, so that pricing a call costs no database round trip.
 * Re-read every {@code tollgate.plans.refresh-interval} on every instance (and at once on the
 * instance that changed them); an account's plan id comes with its cached key, so a plan change
 * reaches calls as a key change does. Each plan's price of each model is computed once per table
 * and plan version and then reused.
 */
@Singleton
public class PlanBook {

    private static final UUID DEFAULT_PLAN = new UUID(0, 0);

    private final PlanStore store;
    private final PriceTable prices;
    private final BigDecimal defaultMarkup;
    private final long refreshNanos;
    private volatile State state = new State(Map.of(), new ConcurrentHashMap<>(), false);
    /** When the last refresh started ({@link System#nanoTime}), and whether one is running in the background. */
    private volatile long refreshedAt = System.nanoTime();
    private final AtomicBoolean refreshing = new AtomicBoolean();

    /** The plans, and the charged prices computed from them (per plan, per model id). */
    private record State(Map<UUID, Plan> plans, ConcurrentHashMap<UUID, ConcurrentHashMap<String, Memo>> memo,
                         boolean loaded) {
    }

    /** A charged price, valid while the list price it was computed from is the table's. */
    private record Memo(ModelPrice list, ModelPrice charged) {
    }

    public PlanBook(PlanStore store, PriceTable prices, TollgateConfig config) {
        this.store = store;
        this.prices = prices;
        this.defaultMarkup = defaultMarkup(config.defaultMarkupPercent());
        this.refreshNanos = config.plans().refreshInterval().toNanos();
    }

    static BigDecimal defaultMarkup(String text) {
        BigDecimal markup;
        try {
            markup = new BigDecimal(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("tollgate.default-markup-percent (TOLLGATE_DEFAULT_MARKUP_PERCENT): "
                    + text + " is not a decimal number");
        }
        if (markup.compareTo(BigDecimal.valueOf(-100)) <= 0) {
            throw new IllegalStateException("tollgate.default-markup-percent (TOLLGATE_DEFAULT_MARKUP_PERCENT): "
                    + "must be above -100, not " + text);
        }
        return markup;
    }

    void onStart(@Observes StartupEvent event) {
        try {
            refresh();
        } catch (RuntimeException e) {
            Log.warnf("Plans and stored prices not read at startup (retried every refresh interval): %s", e.getMessage());
        }
    }

    /** Re-reads the plans and the stored prices; a change takes effect for calls admitted from now on. */
    @Scheduled(every = "${tollgate.plans.refresh-interval}", delayed = "1s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    public synchronized void refresh() {
        refreshedAt = System.nanoTime();
        Map<UUID, Plan> plans = store.plans();
        prices.applyStored(store.prices());
        State current = state;
        if (!current.loaded() || !plans.equals(current.plans())) {
            state = new State(Map.copyOf(plans), new ConcurrentHashMap<>(), true);
        }
    }

    /**
     * Starts a refresh in the background when the last is older than twice the refresh interval:
     * where no timer runs (Lambda), the calls themselves keep the plans and prices current. Never
     * blocks; called as each call resolves its model.
     */
    public void refreshIfStale() {
        if (System.nanoTime() - refreshedAt > 2 * refreshNanos && refreshing.compareAndSet(false, true)) {
            Thread.startVirtualThread(() -> {
                try {
                    refresh();
                } catch (RuntimeException e) {
                    Log.warnf("Plans and stored prices not re-read (retried): %s", e.getMessage());
                } finally {
                    refreshing.set(false);
                }
            });
        }
    }

    public BigDecimal defaultMarkupPercent() {
        return defaultMarkup;
    }

    public Plan plan(UUID id) {
        return state.plans().get(id);
    }

    public Map<UUID, Plan> plans() {
        return state.plans();
    }

    /**
     * {@code list} as charged under plan {@code planId} (null: the default plan). A plan not known
     * here yet (made on another instance within the refresh interval) is read at once when
     * {@code mayBlock}; otherwise null, so that the caller moves to a thread that may block.
     *
     * @throws ApiException 503 when the plan cannot be read
     */
    public ModelPrice charged(UUID planId, ModelPrice list, boolean mayBlock) {
        State s = state;
        Plan plan = null;
        if (planId != null) {
            plan = s.plans().get(planId);
            if (plan == null) {
                if (!mayBlock) {
                    return null;
                }
                try {
                    refresh();
                } catch (RuntimeException e) {
                    throw new ApiException(503, "api_error", "Pricing is temporarily unavailable; retry shortly");
                }
                s = state;
                plan = s.plans().get(planId);
                if (plan == null) {
                    throw new ApiException(503, "api_error", "Pricing is temporarily unavailable; retry shortly");
                }
            }
        }
        ConcurrentHashMap<String, Memo> byModel = s.memo().computeIfAbsent(planId == null ? DEFAULT_PLAN : planId,
                k -> new ConcurrentHashMap<>());
        Memo memo = byModel.get(list.id());
        if (memo != null && memo.list() == list) {
            return memo.charged();
        }
        ModelPrice charged = plan == null ? PlanPricing.charged(list, defaultMarkup, null)
                : PlanPricing.charged(list, plan.markupPercent(), plan.overrideFor(list.id()));
        byModel.put(list.id(), new Memo(list, charged));
        return charged;
    }
}
