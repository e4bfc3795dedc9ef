package dev.tollgate.webhooks;

import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.Money;
import dev.tollgate.metering.PriceTable;
import io.agroal.api.AgroalDataSource;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Turns balance changes into balance.low and balance.depleted events by polling, so that
 * settlements, the hot path, do no work for them. Each announcement marks its account and writes
 * its events in one transaction (exactly one event per crossing); rows locked by a settlement at
 * that moment are skipped (SKIP LOCKED) and taken at the next poll. Safe on any number of instances.
 * POST /admin/v1/maintenance/webhooks runs both announcements at once (on Lambda no timer runs).
 */
@ApplicationScoped
public class BalanceSignals {

    private static final int BATCH = 500;
    /** Matches the timer of {@link #pollDepletions}. */
    private static final Duration DEPLETION_SCAN_PERIOD = Duration.ofSeconds(10);
    /** Nano-dollars per token per (USD per million tokens). */
    private static final BigDecimal NANOS_PER_TOKEN = new BigDecimal(1000);

    private final AgroalDataSource dataSource;
    private final Outbox outbox;
    private final PriceTable prices;

    public BalanceSignals(AgroalDataSource dataSource, Outbox outbox, PriceTable prices) {
        this.dataSource = dataSource;
        this.outbox = outbox;
        this.prices = prices;
    }

    @Scheduled(every = "1s", delayed = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void pollLowBalances() {
        announceLowBalances();
    }

    /**
     * A read of the whole accounts table (no index can serve it without costing settlements), hence
     * less often, and by one instance per period: the first to claim it in balance_scans.
     */
    @Scheduled(every = "10s", delayed = "5s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void pollDepletions() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                UPDATE balance_scans SET last_run = now()
                WHERE name = 'depleted' AND last_run <= now() - make_interval(secs => ?)
                """)) {
            ps.setLong(1, DEPLETION_SCAN_PERIOD.toSeconds() - 1);
            if (ps.executeUpdate() == 0) {
                return;
            }
        } catch (SQLException e) {
            throw new LedgerException("claiming the depletion scan failed", e);
        }
        announceDepletions();
    }

    /**
     * balance.low, once per crossing: each time available falls below the account's threshold,
     * settlements and credits set a new low_balance_since (tg_low_balance); an account whose
     * low_balance_since was not announced yet is found through a partial index and announced.
     */
    public int announceLowBalances() {
        return announce("""
                UPDATE accounts a SET low_balance_notified_since = a.low_balance_since
                WHERE a.id IN (SELECT id FROM accounts
                               WHERE low_balance_since IS NOT NULL
                                 AND low_balance_notified_since IS DISTINCT FROM low_balance_since
                               ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
                RETURNING a.id, a.balance, a.held, a.low_balance_threshold, a.low_balance_since
                """, null);
    }

    /**
     * balance.depleted, once each time an account becomes depleted: its available balance is below
     * {@link #depletedBelow()}, so no call can be paid for. An account seen funded again is re-armed.
     */
    public int announceDepletions() {
        return announce("""
                UPDATE accounts a SET depleted_since = CASE WHEN a.balance - a.held < ? THEN now() END
                WHERE a.id IN (SELECT id FROM accounts WHERE (balance - held < ?) <> (depleted_since IS NOT NULL)
                               ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
                RETURNING a.id, a.balance, a.held, a.depleted_since
                """, depletedBelow());
    }

    /**
     * The price of the cheapest possible call, in nano-dollars (rounded up): one input and one
     * output token of the cheapest model served today. Every call costs at least that.
     */
    long depletedBelow() {
        return prices.available().stream()
                .map(m -> m.input().add(m.output()).multiply(NANOS_PER_TOKEN).setScale(0, RoundingMode.CEILING))
                .min(BigDecimal::compareTo).map(BigDecimal::longValueExact).orElse(1L);
    }

    /** Runs one marking statement and writes an event per account it marked, in one transaction. */
    private int announce(String sql, Long depletedBelow) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            int events = 0;
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                int i = 1;
                if (depletedBelow != null) {
                    ps.setLong(i++, depletedBelow);
                    ps.setLong(i++, depletedBelow);
                }
                ps.setInt(i, BATCH);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Map<String, Object> data = new LinkedHashMap<>();
                        data.put("account_id", rs.getObject("id", UUID.class).toString());
                        data.put("balance_usd", Money.format(rs.getLong("balance")));
                        data.put("available_usd", Money.format(rs.getLong("balance") - rs.getLong("held")));
                        if (depletedBelow == null) {
                            Long threshold = rs.getObject("low_balance_threshold", Long.class);
                            data.put("low_balance_threshold_usd", threshold == null ? null : Money.format(threshold));
                            data.put("since", rs.getTimestamp("low_balance_since").toInstant().toString());
                            outbox.emit(c, Outbox.BALANCE_LOW, data);
                            events++;
                        } else if (rs.getTimestamp("depleted_since") != null) {
                            data.put("depleted_below_usd", Money.format(depletedBelow));
                            outbox.emit(c, Outbox.BALANCE_DEPLETED, data);
                            events++;
                        }
                    }
                }
                c.commit();
                return events;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("announcing balance events failed", e);
        }
    }
}
