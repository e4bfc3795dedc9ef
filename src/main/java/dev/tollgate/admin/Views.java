package dev.tollgate.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.tollgate.keys.ApiKey;
import dev.tollgate.ledger.Account;
import dev.tollgate.ledger.CreditLots;
import dev.tollgate.ledger.LedgerEntry;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.ledger.Money;
import dev.tollgate.limits.LimitSettings;
import dev.tollgate.ledger.UsageRecord;
import io.quarkus.runtime.annotations.RegisterForReflection;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The admin API's JSON shapes (snake_case on the wire; money as decimal strings). Registered for
 * reflection because a native image only keeps what it can see used: records inside {@code Page<T>}
 * and TopupView (stored as JSON for idempotent replays) are serialised by Jackson reflectively.
 */
@RegisterForReflection(targets = {Views.AccountView.class, Views.TopupView.class, Views.KeyView.class,
        Views.IssuedKeyView.class, Views.UsageView.class, Views.EntryView.class, Views.ReconciliationView.class,
        Views.Page.class, Views.ReapView.class, Views.Limits.class, Views.AuditView.class, Views.CreditLotView.class,
        Views.CursorPage.class})
public final class Views {

    private Views() {
    }

    record AccountView(UUID id, String name, String balanceUsd, String heldUsd, String availableUsd, Instant createdAt,
                       Limits limits, boolean fitMaxTokens, int fitMinTokens, String lowBalanceThresholdUsd,
                       Instant lowBalanceSince, UUID planId,
                       @JsonInclude(JsonInclude.Include.NON_NULL) List<CreditLotView> creditLots) {
        static AccountView of(Account a) {
            return of(a, null);
        }

        /** With the account's credit lots (GET of one account). */
        static AccountView of(Account a, List<CreditLotView> lots) {
            return new AccountView(a.id, a.name, Money.format(a.balance), Money.format(a.held),
                    Money.format(a.balance - a.held), a.createdAt,
                    Limits.of(a.getLimits()),
                    a.fitMaxTokens, a.fitMinTokens, LimitFields.usd(a.lowBalanceThreshold), a.lowBalanceSince,
                    a.planId, lots);
        }
    }

    /** A credit lot (credit that expires) with what is left of it; lot_id is its credit's ledger entry. */
    public record CreditLotView(long lotId, String amountUsd, String remainingUsd, String spentUsd, String expiredUsd,
                                Instant expiresAt, Instant createdAt) {
        public static CreditLotView of(CreditLots.LotView l) {
            return new CreditLotView(l.entryId(), Money.format(l.amount()), Money.format(l.remaining()),
                    Money.format(l.spent()), Money.format(l.expired()), l.expiresAt(), l.createdAt());
        }
    }

    /** A key's or account's limits; null fields are unlimited. */
    public record Limits(Integer requestsPerMinute, Long tokensPerMinute, Integer maxConcurrent, String dailySpendLimitUsd,
                         String monthlySpendLimitUsd, String lifetimeSpendLimitUsd) {
        public static Limits of(LimitSettings l) {
            return new Limits(l.requestsPerMinute, l.tokensPerMinute, l.maxConcurrent, LimitFields.usd(l.dailySpendLimit),
                    LimitFields.usd(l.monthlySpendLimit), LimitFields.usd(l.lifetimeSpendLimit));
        }
    }

    record TopupView(long entryId, UUID accountId, String amountUsd, String balanceUsd, String availableUsd,
                     int reservesRevoked, String expiresAt) {
    }

    record KeyView(UUID id, UUID accountId, String name, String prefix, List<String> allowedModels,
                   List<String> allowedIps, Limits limits, Instant expiresAt, Instant revokedAt, Instant createdAt,
                   Instant previousKeyValidUntil) {
        static KeyView of(ApiKey k) {
            return new KeyView(k.id, k.accountId, k.name, k.prefix, k.allowedModels, k.allowedCidrs, Limits.of(k.getLimits()),
                    k.expiresAt, k.revokedAt, k.createdAt, k.previousExpiresAt);
        }
    }


    /** The only response that ever contains a key's secret: at creation and at rotation. */
    record IssuedKeyView(UUID id, UUID accountId, String key, String name, String prefix, List<String> allowedModels,
                         List<String> allowedIps, Limits limits, Instant expiresAt, Instant createdAt,
                         Instant previousKeyValidUntil) {
        static IssuedKeyView of(ApiKey k, String secret) {
            return new IssuedKeyView(k.id, k.accountId, secret, k.name, k.prefix, k.allowedModels, k.allowedCidrs,
                    Limits.of(k.getLimits()), k.expiresAt, k.createdAt, k.previousExpiresAt);
        }
    }

    record AuditView(long id, String actor, String action, String subjectId, Object details, String clientIp,
                     Instant createdAt) {
    }

    record UsageView(String requestId, UUID keyId, String model, long inputTokens, long outputTokens,
                     @JsonProperty("cache_creation_5m_input_tokens") long cacheCreation5mInputTokens,
                     @JsonProperty("cache_creation_1h_input_tokens") long cacheCreation1hInputTokens,
                     long cacheReadInputTokens,
                     long webSearchRequests, String costUsd, String status, int httpStatus, boolean stream,
                     String endpoint, int latencyMs, String upstreamRequestId, String referer, String title,
                     UUID upstreamId, String upstreamName, Integer attempts, Instant createdAt,
                     String upstreamCostUsd, UUID planId) {
        static UsageView of(UsageRecord u) {
            return new UsageView(u.requestId, u.keyId, u.model, u.inputTokens, u.outputTokens,
                    u.cacheCreation5mInputTokens, u.cacheCreation1hInputTokens, u.cacheReadInputTokens,
                    u.webSearchRequests, Money.format(u.cost), u.status, u.httpStatus, u.stream, u.endpoint,
                    u.latencyMs, u.upstreamRequestId, u.referer, u.title, u.upstreamId, u.upstreamName, u.attempts,
                    u.createdAt, Money.format(u.upstreamCostOrCost()), u.planId);
        }
    }

    record EntryView(long id, String kind, String balanceDeltaUsd, String heldDeltaUsd, UUID holdId, String requestId,
                     String note, Instant createdAt) {
        static EntryView of(LedgerEntry e) {
            return new EntryView(e.id, e.kind, Money.format(e.balanceDelta), Money.format(e.heldDelta), e.holdId,
                    e.requestId, e.note, e.createdAt);
        }
    }

    record ReconciliationView(UUID accountId, boolean consistent, String balanceUsd, String entriesBalanceUsd,
                              String heldUsd, String entriesHeldUsd, String pendingHoldsUsd, String settledUsd,
                              String usageCostUsd) {
        static ReconciliationView of(UUID id, LedgerStore.Reconciliation r) {
            return new ReconciliationView(id, r.consistent(), Money.format(r.balance()),
                    Money.format(r.entriesBalance()), Money.format(r.held()), Money.format(r.entriesHeld()),
                    Money.format(r.pendingHolds()), Money.format(r.settledCharges()), Money.format(r.usageCosts()));
        }
    }

    record Page<T>(List<T> data) {
    }

    /** A page of a listing walked with cursors: next_cursor is null on the last page. */
    public record CursorPage<T>(List<T> data, String nextCursor) {
    }

    record ReapView(int releasedHolds) {
    }
}
