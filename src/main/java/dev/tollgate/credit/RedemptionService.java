package dev.tollgate.credit;

import dev.tollgate.admin.AuditLog;
import dev.tollgate.api.ApiException;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.keys.KeyHasher;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.Money;
import dev.tollgate.webhooks.Outbox;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Redemption codes: issuing them (shown once, stored as keyed hashes), listing and revoking them,
 * and redeeming one for an account (tg_redeem: exactly once, however many try at the same time).
 */
@ApplicationScoped
public class RedemptionService {

    private final AgroalDataSource dataSource;
    private final KeyHasher hasher;
    private final AuditLog audit;
    private final Outbox outbox;
    private final RedemptionThrottle throttle;

    public RedemptionService(AgroalDataSource dataSource, KeyHasher hasher, AuditLog audit, Outbox outbox,
                             RedemptionThrottle throttle) {
        this.dataSource = dataSource;
        this.hasher = hasher;
        this.audit = audit;
        this.outbox = outbox;
        this.throttle = throttle;
    }

    record Issued(UUID id, String code) {
    }

    /** Creates {@code count} codes of {@code amount} nano-dollars, in one transaction with its audit record. */
    CodeViews.Batch create(int count, long amount, Instant expiresAt, Integer creditDays, String note) {
        UUID batchId = UUID.randomUUID();
        Instant createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        List<Issued> issued = new ArrayList<>(count);
        String[] ids = new String[count];
        String[] hashes = new String[count];
        for (int i = 0; i < count; i++) {
            String code = RedemptionCodes.generate();
            issued.add(new Issued(UUID.randomUUID(), code));
            ids[i] = issued.get(i).id().toString();
            hashes[i] = HexFormat.of().formatHex(hash(RedemptionCodes.canonical(code)));
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("""
                    INSERT INTO redemption_codes (id, batch_id, code_hash, amount, expires_at, note, created_at,
                                                  credit_expires_in_days)
                    SELECT id::uuid, ?, decode(h, 'hex'), ?, ?, ?, ?, ? FROM unnest(?::text[], ?::text[]) AS t(id, h)
                    """)) {
                ps.setObject(1, batchId);
                ps.setLong(2, amount);
                ps.setTimestamp(3, expiresAt == null ? null : Timestamp.from(expiresAt));
                ps.setString(4, note);
                ps.setTimestamp(5, Timestamp.from(createdAt));
                ps.setObject(6, creditDays, java.sql.Types.INTEGER);
                ps.setArray(7, c.createArrayOf("text", ids));
                ps.setArray(8, c.createArrayOf("text", hashes));
                ps.executeUpdate();
                Map<String, Object> details = new LinkedHashMap<>();
                details.put("count", count);
                details.put("amount_usd", Money.format(amount));
                details.put("expires_at", expiresAt == null ? null : expiresAt.toString());
                details.put("credit_expires_in_days", creditDays);
                details.put("note", note);
                audit.record(c, "redemption_codes.create", batchId.toString(), details);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("creating redemption codes failed", e);
        }
        return new CodeViews.Batch(batchId, count, Money.format(amount), expiresAt, creditDays, note, createdAt,
                issued.stream().map(i -> new CodeViews.IssuedCode(i.id(), i.code())).toList());
    }

    /** Newest first, {@code limit} codes after the cursor, optionally of one status and batch. */
    CodeViews.Page list(String status, UUID batchId, int limit, CodeViews.Cursor after) {
        String statusFilter = switch (status == null ? "" : status) {
            case "" -> "TRUE";
            case "unused" -> "redeemed_at IS NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())";
            case "redeemed" -> "redeemed_at IS NOT NULL";
            case "revoked" -> "revoked_at IS NOT NULL";
            case "expired" -> "redeemed_at IS NULL AND revoked_at IS NULL AND expires_at <= now()";
            default -> throw ApiException.invalidRequest("status: must be one of unused, redeemed, expired, revoked");
        };
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT *, now() AS at FROM redemption_codes
                WHERE %s AND (?::uuid IS NULL OR batch_id = ?::uuid)
                  AND (?::timestamptz IS NULL OR (created_at, id) < (?::timestamptz, ?::uuid))
                ORDER BY created_at DESC, id DESC LIMIT ?
                """.formatted(statusFilter))) {
            Timestamp afterTime = after == null ? null : Timestamp.from(after.createdAt());
            ps.setObject(1, batchId);
            ps.setObject(2, batchId);
            ps.setTimestamp(3, afterTime);
            ps.setTimestamp(4, afterTime);
            ps.setObject(5, after == null ? null : after.id());
            ps.setInt(6, limit + 1);
            List<CodeViews.Code> codes = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    codes.add(CodeViews.Code.of(rs));
                }
            }
            String next = null;
            if (codes.size() > limit) {
                codes.removeLast();
                next = CodeViews.Cursor.of(codes.getLast()).encode();
            }
            return new CodeViews.Page(codes, next);
        } catch (SQLException e) {
            throw new LedgerException("listing redemption codes failed", e);
        }
    }

    /** Revokes a code that was not redeemed; revoking it again changes nothing. */
    CodeViews.Code revoke(UUID id) {
        CodeViews.Code code;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("""
                    UPDATE redemption_codes SET revoked_at = now() WHERE id = ? AND redeemed_at IS NULL AND revoked_at IS NULL
                    """)) {
                ps.setObject(1, id);
                if (ps.executeUpdate() == 1) {
                    audit.record(c, "redemption_code.revoke", id.toString(), Map.of());
                }
                code = find(c, id);
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("revoking a redemption code failed", e);
        }
        if (code == null) {
            throw ApiException.notFound("Redemption code " + id + " not found");
        }
        if (code.redeemedAt() != null) {
            throw new ApiException(409, "invalid_request_error",
                    "Redemption code " + id + " was already redeemed; it cannot be revoked").errorCode("already_redeemed");
        }
        return code;
    }

    private static CodeViews.Code find(Connection c, UUID id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT *, now() AS at FROM redemption_codes WHERE id = ?")) {
            ps.setObject(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? CodeViews.Code.of(rs) : null;
            }
        }
    }

    /** The credit of one redemption and the account's totals after it. */
    record Redeemed(UUID codeId, long amount, long entryId, long balance, long held, Instant creditExpiresAt) {
    }

    /**
     * Redeems a typed code for the key's account. Refusals other than a lost race (409) count
     * against the key and the client IP ({@link RedemptionThrottle}).
     */
    Redeemed redeem(AuthenticatedKey key, String clientIp, String typed) {
        List<String> subjects = clientIp == null ? List.of("key:" + key.id())
                : List.of("key:" + key.id(), "ip:" + clientIp);
        throttle.check(subjects);
        String canonical = RedemptionCodes.canonical(typed);
        if (canonical == null) {
            throttle.recordFailure(subjects);
            throw ApiException.invalidRequest("code: not a valid redemption code; check it for typos "
                    + "(it looks like TG-XXXX-XXXX-XXXX-XXXX-XXXX)").errorCode("invalid_code");
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                Redeemed redeemed = redeemIn(c, key, canonical);
                c.commit();
                return redeemed;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                if (e instanceof ApiException refused && refused.status() != 409) {
                    throttle.recordFailure(subjects);
                }
                throw e;
            }
        } catch (SQLException e) {
            throw new LedgerException("redemption failed", e);
        }
    }

    private Redeemed redeemIn(Connection c, AuthenticatedKey key, String canonical) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM tg_redeem(?, ?, ?)")) {
            ps.setBytes(1, hash(canonical));
            ps.setObject(2, key.accountId());
            ps.setObject(3, key.id());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                String outcome = rs.getString("outcome");
                UUID codeId = rs.getObject("code_id", UUID.class);
                switch (outcome) {
                    case "redeemed" -> { }
                    case "unknown" -> throw ApiException.notFound("No such redemption code; check it for typos")
                            .errorCode("unknown_code");
                    case "already_redeemed" -> throw new ApiException(409, "invalid_request_error",
                            "This redemption code has already been redeemed").errorCode("already_redeemed");
                    case "revoked" -> throw new ApiException(410, "invalid_request_error",
                            "This redemption code was revoked by the operator").errorCode("code_revoked");
                    default -> throw new ApiException(410, "invalid_request_error",
                            "This redemption code has expired").errorCode("code_expired");
                }
                long entryId = rs.getLong("entry_id");
                Redeemed r = new Redeemed(codeId, rs.getLong("amount"), entryId, rs.getLong("balance"),
                        rs.getLong("held"), lotExpiry(c, entryId));
                Map<String, Object> data = new LinkedHashMap<>();
                data.put("code_id", codeId.toString());
                data.put("account_id", key.accountId().toString());
                data.put("key_id", key.id().toString());
                data.put("amount_usd", Money.format(r.amount()));
                data.put("entry_id", r.entryId());
                data.put("balance_usd", Money.format(r.balance()));
                data.put("available_usd", Money.format(r.balance() - r.held()));
                data.put("credit_expires_at", r.creditExpiresAt() == null ? null : r.creditExpiresAt().toString());
                audit.record(c, "key:" + key.id(), "redemption_code.redeem", codeId.toString(), data);
                outbox.emit(c, Outbox.REDEMPTION_CREATED, data);
                return r;
            }
        }
    }

    /** When the credit of a redemption expires (its lot), or null when it does not. */
    private static Instant lotExpiry(Connection c, long entryId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT expires_at FROM credit_lots WHERE entry_id = ?")) {
            ps.setLong(1, entryId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getTimestamp(1).toInstant() : null;
            }
        }
    }

    private byte[] hash(String canonical) {
        // A domain prefix, so a code's hash can never equal an API key's.
        return hasher.hash("redemption-code:" + canonical);
    }
}
