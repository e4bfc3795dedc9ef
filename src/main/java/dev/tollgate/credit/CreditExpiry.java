package dev.tollgate.credit;

import dev.tollgate.ledger.CreditLots;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.Money;
import dev.tollgate.webhooks.Outbox;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The expiry job of credit lots: every 30 s on each instance (POST
 * /admin/v1/maintenance/expire-credits on Lambda), for each account with a lot that is due, or
 * about to expire and not yet announced, or not attributed for a while, one short transaction
 * under the account row's lock ({@link CreditLots#settle}): spending attributed, due lots expired
 * (kind 'expiry'), credit.expiring announced once per lot. Any number of instances may run it at
 * once: the row lock serialises them per account, and each re-reads the lots under it, so nothing
 * is expired twice.
 */
@ApplicationScoped
public class CreditExpiry {

    /** credit.expiring is announced this long before a lot expires. */
    static final Duration ANNOUNCE_BEFORE = Duration.ofDays(7);
    /** Accounts with open lots are attributed at least this often, so views read little of the ledger. */
    static final Duration ATTRIBUTE_EVERY = Duration.ofMinutes(10);
    private static final int BATCH = 200;

    private final AgroalDataSource dataSource;
    private final CreditLots lots;
    private final Outbox outbox;

    public CreditExpiry(AgroalDataSource dataSource, CreditLots lots, Outbox outbox) {
        this.dataSource = dataSource;
        this.lots = lots;
        this.outbox = outbox;
    }

    /** What one pass did. */
    @RegisterForReflection
    public record Pass(int accounts, int lotsExpired, String expiredUsd, int expiringAnnounced) {
    }

    @Scheduled(every = "30s", delayed = "10s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        run();
    }

    public Pass run() {
        int accounts = 0;
        int expired = 0;
        long expiredAmount = 0;
        int announced = 0;
        List<UUID> due = due();
        for (UUID account : due) {
            try {
                int[] counts = new int[2];
                long amount = settle(account, counts);
                accounts++;
                expired += counts[0];
                announced += counts[1];
                expiredAmount += amount;
            } catch (LedgerException e) {
                // The next pass takes the account again (a lock timeout on a busy account, an outage).
                Log.warnf(e, "Credit expiry of account %s failed; retried at the next pass", account);
            }
        }
        return new Pass(accounts, expired, Money.format(expiredAmount), announced);
    }

    /** Accounts with a lot due or to announce (the partial index on open lots' expiry), or attributed long ago. */
    private List<UUID> due() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT account_id FROM credit_lots
                WHERE closed_at IS NULL AND expires_at <= now() + make_interval(secs => ?)
                  AND (expires_at <= now() OR expiring_notified_at IS NULL)
                UNION
                SELECT a.account_id FROM credit_lot_accounts a
                WHERE a.attributed_at < now() - make_interval(secs => ?)
                  AND EXISTS (SELECT 1 FROM credit_lots l WHERE l.account_id = a.account_id AND l.closed_at IS NULL)
                LIMIT ?
                """)) {
            ps.setLong(1, ANNOUNCE_BEFORE.toSeconds());
            ps.setLong(2, ATTRIBUTE_EVERY.toSeconds());
            ps.setInt(3, BATCH * 10);
            List<UUID> accounts = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    accounts.add(rs.getObject(1, UUID.class));
                }
            }
            return accounts;
        } catch (SQLException e) {
            throw new LedgerException("finding credit lots due failed", e);
        }
    }

    /** One account's pass, in one transaction; returns the amount expired, counts {lots expired, announced}. */
    private long settle(UUID account, int[] counts) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement("SET LOCAL lock_timeout = '5s'")) {
                    ps.execute();
                }
                CreditLots.Settled settled = lots.settle(c, account);
                long amount = 0;
                if (settled != null) {
                    for (CreditLots.Expiry e : settled.expiries()) {
                        amount += e.amount();
                        counts[0]++;
                    }
                    for (CreditLots.LotView lot : settled.open()) {
                        if (!lot.expiringNotified() && lot.expiresAt().isAfter(settled.now())
                                && !lot.expiresAt().isAfter(settled.now().plus(ANNOUNCE_BEFORE))) {
                            announce(c, account, lot);
                            counts[1]++;
                        }
                    }
                }
                c.commit();
                return amount;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("expiring credit lots failed", e);
        }
    }

    private void announce(Connection c, UUID account, CreditLots.LotView lot) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE credit_lots SET expiring_notified_at = now() WHERE entry_id = ? AND expiring_notified_at IS NULL")) {
            ps.setLong(1, lot.entryId());
            if (ps.executeUpdate() == 0) {
                return;
            }
        }
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("account_id", account.toString());
        data.put("lot_id", lot.entryId());
        data.put("amount_usd", Money.format(lot.amount()));
        data.put("remaining_usd", Money.format(lot.remaining()));
        data.put("expires_at", lot.expiresAt().toString());
        outbox.emit(c, Outbox.CREDIT_EXPIRING, data);
    }
}
