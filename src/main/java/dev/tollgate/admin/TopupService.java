package dev.tollgate.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.CreditLots;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.ledger.Money;
import dev.tollgate.webhooks.Outbox;
import io.agroal.api.AgroalDataSource;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Credits (top-ups and adjustments) with Stripe-style idempotency: the same Idempotency-Key with
 * the same request replays the first result; with a different request it is refused (422).
 * Key, request hash and result are written in the credit's own transaction, so a crash can
 * never leave a credited top-up without its key or a key without its credit.
 */
@ApplicationScoped
public class TopupService {

    /** How long a replay of a credit is recognised; a key older than this may be used again. */
    static final Duration IDEMPOTENCY_RETENTION = Duration.ofHours(24);

    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE);

    private final AgroalDataSource dataSource;
    private final LedgerStore ledger;
    private final AuditLog audit;
    private final Outbox outbox;
    private final CreditLots lots;

    public TopupService(AgroalDataSource dataSource, LedgerStore ledger, AuditLog audit, Outbox outbox, CreditLots lots) {
        this.dataSource = dataSource;
        this.lots = lots;
        this.outbox = outbox;
        this.ledger = ledger;
        this.audit = audit;
    }

    /** Result of a credit: the body and whether it is a replay of an earlier identical request. */
    public record Outcome(Views.TopupView view, boolean replayed) {
    }

    public Outcome credit(UUID accountId, long amount, String kind, String note, java.time.Instant expiresAt,
                          String expiryAsGiven, String idempotencyKey) {
        byte[] requestHash = sha256(accountId + "|" + kind + "|" + amount + "|" + (note == null ? "" : note)
                + (expiresAt == null ? "" : "|" + expiryAsGiven));
        String scope = kind + ":" + accountId;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                if (idempotencyKey != null) {
                    Outcome replay = claimKey(c, scope, idempotencyKey, requestHash);
                    if (replay != null) {
                        c.commit();
                        return replay;
                    }
                }
                LedgerStore.Credit result = ledger.credit(c, accountId, amount, kind, note);
                if (result == null) {
                    c.rollback();
                    throw ApiException.notFound("Account " + accountId + " not found");
                }
                if (expiresAt != null) {
                    lots.add(c, result.entryId(), accountId, amount, expiresAt);
                }
                try (PreparedStatement low = c.prepareStatement("SELECT tg_low_balance(?)")) {
                    low.setObject(1, accountId);
                    low.execute();
                }
                Views.TopupView view = new Views.TopupView(result.entryId(), accountId, Money.format(amount),
                        Money.format(result.balance()), Money.format(result.balance() - result.held()),
                        result.reservesRevoked(), expiresAt == null ? null : expiresAt.toString());
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("amount_usd", Money.format(amount));
                details.put("entry_id", result.entryId());
                details.put("note", note == null ? "" : note);
                details.put("reserves_revoked", result.reservesRevoked());
                if (expiresAt != null) {
                    details.put("expires_at", expiresAt.toString());
                }
                audit.record(c, "account." + kind, accountId.toString(), details);
                if ("topup".equals(kind)) {
                    outbox.emit(c, Outbox.TOPUP_CREATED, topupEvent(view, note));
                }
                if (idempotencyKey != null) {
                    try (PreparedStatement ps = c.prepareStatement(
                            "UPDATE idempotency_keys SET response_status = 201, response_body = ? WHERE scope = ? AND key = ?")) {
                        ps.setString(1, JSON.writeValueAsString(view));
                        ps.setString(2, scope);
                        ps.setString(3, idempotencyKey);
                        ps.executeUpdate();
                    }
                }
                c.commit();
                return new Outcome(view, false);
            } catch (SQLException | com.fasterxml.jackson.core.JsonProcessingException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new LedgerException("credit failed", e);
        }
    }

    /**
     * Inserts the key, or returns the stored outcome of the request that inserted it first. A
     * concurrent twin blocks on the first one's uncommitted row until it commits.
     */
    private Outcome claimKey(Connection c, String scope, String key, byte[] requestHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (?, ?, ?)
                ON CONFLICT (scope, key) DO NOTHING
                """)) {
            ps.setString(1, scope);
            ps.setString(2, key);
            ps.setBytes(3, requestHash);
            if (ps.executeUpdate() == 1) {
                return null;
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT request_hash, response_body FROM idempotency_keys WHERE scope = ? AND key = ?")) {
            ps.setString(1, scope);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!MessageDigest.isEqual(rs.getBytes(1), requestHash)) {
                    throw new ApiException(422, "invalid_request_error",
                            "Idempotency-Key " + key + " was already used with a different request");
                }
                try {
                    return new Outcome(JSON.readValue(rs.getString(2), Views.TopupView.class), true);
                } catch (java.io.IOException e) {
                    throw new LedgerException("stored idempotent response unreadable", e);
                }
            }
        }
    }

    private static Map<String, Object> topupEvent(Views.TopupView view, String note) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("account_id", view.accountId().toString());
        data.put("entry_id", view.entryId());
        data.put("amount_usd", view.amountUsd());
        data.put("balance_usd", view.balanceUsd());
        data.put("available_usd", view.availableUsd());
        data.put("note", note);
        data.put("expires_at", view.expiresAt());
        return data;
    }

    /** On the hold reaper's timer; on Lambda POST /admin/v1/maintenance/reap does it instead. */
    @Scheduled(every = "${tollgate.holds.reaper-interval}", delayed = "30s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduledExpiry() {
        expireKeys();
    }

    /** Forgets idempotency keys older than {@link #IDEMPOTENCY_RETENTION}; returns how many. */
    public int expireKeys() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => ?)")) {
            ps.setDouble(1, IDEMPOTENCY_RETENTION.toSeconds());
            return ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("expiring idempotency keys failed", e);
        }
    }

    private static byte[] sha256(String value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
