package dev.tollgate.admin;

import dev.tollgate.credit.CreditExpiry;
import dev.tollgate.ledger.HoldReaper;
import dev.tollgate.webhooks.BalanceSignals;
import dev.tollgate.webhooks.UpstreamSignals;
import dev.tollgate.webhooks.WebhookDispatcher;
import dev.tollgate.webhooks.WebhookViews;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/**
 * Maintenance an external scheduler can trigger: on AWS Lambda nothing runs between invocations,
 * so an EventBridge schedule calls this instead of the in-process reaper timer. Guarded by
 * {@link AdminAuthFilter} like the rest of /admin; safe to call from many places at once.
 */
@Path("/admin/v1/maintenance")
@Produces(MediaType.APPLICATION_JSON)
public class MaintenanceResource {

    private final HoldReaper reaper;
    private final TopupService topups;
    private final BalanceSignals balanceSignals;
    private final WebhookDispatcher webhooks;
    private final CreditExpiry creditExpiry;
    private final UpstreamSignals upstreamSignals;

    public MaintenanceResource(HoldReaper reaper, TopupService topups, BalanceSignals balanceSignals,
                               WebhookDispatcher webhooks, CreditExpiry creditExpiry, UpstreamSignals upstreamSignals) {
        this.upstreamSignals = upstreamSignals;
        this.creditExpiry = creditExpiry;
        this.reaper = reaper;
        this.topups = topups;
        this.balanceSignals = balanceSignals;
        this.webhooks = webhooks;
    }

    /** Releases expired holds (recording their calls as abandoned) and forgets old idempotency keys. */
    @POST
    @Path("/reap")
    public Views.ReapView reap() {
        int released = reaper.run();
        topups.expireKeys();
        return new Views.ReapView(released);
    }

    /** Announces balance events and attempts every webhook delivery that is due (the instances' timers do this each second). */
    @POST
    @Path("/webhooks")
    public WebhookViews.Pass webhooks() {
        int low = balanceSignals.announceLowBalances();
        int depleted = balanceSignals.announceDepletions();
        upstreamSignals.announce();
        return new WebhookViews.Pass(low, depleted, webhooks.deliverDue());
    }

    /** Expires the credit lots that are due and announces those about to expire (the instances' timers do this every 30 s). */
    @POST
    @Path("/expire-credits")
    public CreditExpiry.Pass expireCredits() {
        return creditExpiry.run();
    }
}
