package dev.tollgate.ops;

import dev.tollgate.ledger.HoldHeartbeat;
import dev.tollgate.ledger.LedgerStore;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * The settlement backlog as a readiness detail. It stays UP: an instance with a backlog still
 * serves calls (their holds cover them) and writes the backlog as soon as the database answers;
 * taking it out of rotation would not help the database come back. Operators alert on the
 * backlog's age instead (tollgate_settlements_oldest_seconds, docs/operations.md).
 */
@Readiness
@ApplicationScoped
public class SettlementsHealth implements HealthCheck {

    private final LedgerStore ledger;
    private final HoldHeartbeat heartbeat;

    public SettlementsHealth(LedgerStore ledger, HoldHeartbeat heartbeat) {
        this.ledger = ledger;
        this.heartbeat = heartbeat;
    }

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("settlements").up()
                .withData("backlog", ledger.settlementBacklog())
                .withData("oldest_unwritten_seconds", ledger.oldestUnwrittenSettlement().toSeconds())
                .withData("holds_renewed_by_this_instance", heartbeat.liveHolds())
                .build();
    }
}
