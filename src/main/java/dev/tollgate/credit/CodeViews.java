package dev.tollgate.credit;

import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Money;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/** The JSON shapes of redemption codes (snake_case on the wire; money as decimal strings). */
@RegisterForReflection(targets = {CodeViews.Batch.class, CodeViews.IssuedCode.class, CodeViews.Code.class,
        CodeViews.Page.class, CodeViews.Redemption.class})
final class CodeViews {

    private CodeViews() {
    }

    /** A created batch: the only response that ever carries the codes themselves. */
    record Batch(UUID batchId, int count, String amountUsd, Instant expiresAt, Integer creditExpiresInDays, String note,
                 Instant createdAt,
                 List<IssuedCode> codes) {
    }

    record IssuedCode(UUID id, String code) {
    }

    /** A code as listed: its status, never the code. */
    record Code(UUID id, UUID batchId, String status, String amountUsd, Instant expiresAt, Integer creditExpiresInDays,
                String note,
                Instant createdAt, Instant redeemedAt, UUID redeemedByAccountId, UUID redeemedByKeyId,
                Long ledgerEntryId, Instant revokedAt) {

        /** From a redemption_codes row selected with {@code now() AS at} (the database's clock decides expiry). */
        static Code of(ResultSet rs) throws SQLException {
            Instant expiresAt = instant(rs, "expires_at");
            Instant redeemedAt = instant(rs, "redeemed_at");
            Instant revokedAt = instant(rs, "revoked_at");
            String status = redeemedAt != null ? "redeemed" : revokedAt != null ? "revoked"
                    : expiresAt != null && !expiresAt.isAfter(instant(rs, "at")) ? "expired" : "unused";
            long entry = rs.getLong("ledger_entry_id");
            return new Code(rs.getObject("id", UUID.class), rs.getObject("batch_id", UUID.class), status,
                    Money.format(rs.getLong("amount")), expiresAt, rs.getObject("credit_expires_in_days", Integer.class),
                    rs.getString("note"), instant(rs, "created_at"),
                    redeemedAt, rs.getObject("redeemed_by", UUID.class), rs.getObject("redeemed_key_id", UUID.class),
                    rs.wasNull() ? null : entry, revokedAt);
        }

        private static Instant instant(ResultSet rs, String column) throws SQLException {
            Timestamp t = rs.getTimestamp(column);
            return t == null ? null : t.toInstant();
        }
    }

    record Page(List<Code> data, String nextCursor) {
    }

    /** Where a page ended: the last code's creation time and id (codes are listed newest first). */
    record Cursor(Instant createdAt, UUID id) {

        static Cursor of(Code last) {
            return new Cursor(last.createdAt(), last.id());
        }

        String encode() {
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString((createdAt + "|" + id).getBytes(StandardCharsets.UTF_8));
        }

        static Cursor decode(String text) {
            try {
                String[] parts = new String(Base64.getUrlDecoder().decode(text), StandardCharsets.UTF_8).split("\\|");
                return new Cursor(Instant.parse(parts[0]), UUID.fromString(parts[1]));
            } catch (RuntimeException e) {
                throw ApiException.invalidRequest("cursor: not a cursor this API returned (use next_cursor as given)");
            }
        }
    }

    /** A redemption's answer to the developer. */
    record Redemption(UUID codeId, String amountUsd, String balanceUsd, String availableUsd, long entryId,
                      Instant creditExpiresAt) {
    }
}
