package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.limits.CidrSet;
import dev.tollgate.limits.LimitCounters;
import dev.tollgate.keys.ApiKey;
import dev.tollgate.keys.ApiKeyService;
import dev.tollgate.ledger.Account;
import dev.tollgate.ledger.CreditLots;
import dev.tollgate.ledger.LedgerEntry;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.ledger.UsageRecord;
import dev.tollgate.webhooks.Outbox;
import io.quarkus.panache.common.Page;
import io.quarkus.panache.common.Sort;
import jakarta.transaction.Transactional;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** The operator's API: accounts, credits, keys, usage, ledger. Guarded by {@link AdminAuthFilter}. */
@Path("/admin/v1")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class AdminResource {

    private static final int MAX_PAGE = 1000;
    private static final Set<String> LIMIT_FIELDS = Set.of("requests_per_minute", "tokens_per_minute", "max_concurrent",
            "daily_spend_limit_usd", "monthly_spend_limit_usd", "lifetime_spend_limit_usd");
    private static final Set<String> ACCOUNT_FIELDS = union(LIMIT_FIELDS,
            Set.of("name", "fit_max_tokens", "fit_min_tokens", "low_balance_threshold_usd", "plan_id"));
    private static final Set<String> KEY_FIELDS = union(LIMIT_FIELDS,
            Set.of("name", "expires_at", "allowed_models", "allowed_ips"));
    private static final Set<String> CREDIT_FIELDS = Set.of("amount_usd", "note", "expires_at", "credit_expires_in_days");

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new java.util.HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }

    private final TopupService topups;
    private final ApiKeyService keys;
    private final LedgerStore ledger;
    private final PriceTable prices;
    private final AuditLog audit;
    private final TollgateConfig config;
    private final com.fasterxml.jackson.databind.ObjectMapper json;
    private final LimitCounters counters;
    private final Outbox outbox;
    private final CreditLots lots;
    private final Listings listings;
    @jakarta.inject.Inject
    dev.tollgate.plans.PlanStore plans;

    public AdminResource(TopupService topups, ApiKeyService keys, LedgerStore ledger, PriceTable prices, AuditLog audit,
                         TollgateConfig config, com.fasterxml.jackson.databind.ObjectMapper json, LimitCounters counters,
                         Outbox outbox, CreditLots lots, Listings listings) {
        this.lots = lots;
        this.listings = listings;
        this.outbox = outbox;
        this.counters = counters;
        this.json = json;
        this.audit = audit;
        this.config = config;
        this.topups = topups;
        this.keys = keys;
        this.ledger = ledger;
        this.prices = prices;
    }

    @POST
    @Path("/accounts")
    @Transactional
    public RestResponse<Views.AccountView> createAccount(JsonNode body) {
        Account account = new Account();
        account.id = UUID.randomUUID();
        account.name = Json.requiredString(Json.onlyFields(body, ACCOUNT_FIELDS), "name", 200);
        account.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        applyAccountSettings(account, body);
        applyPlan(account, body);
        account.persist();
        counters.limitsChanged(account.id, false, false, account.getLimits());
        audit.record("account.create", account.id.toString(), Map.of("name", account.name));
        return RestResponse.status(RestResponse.Status.CREATED, Views.AccountView.of(account));
    }

    /** Changes an account's limits and billing options; absent fields stay, null removes a limit. */
    @PATCH
    @Path("/accounts/{id}")
    @Transactional
    public Views.AccountView updateAccount(@PathParam("id") String id, JsonNode body) {
        Account account = findAccount(id);
        Json.onlyFields(body, ACCOUNT_FIELDS);
        if (body.has("name")) {
            account.name = Json.requiredString(body, "name", 200);
        }
        boolean hadLimits = account.getLimits().any();
        applyAccountSettings(account, body);
        applyPlan(account, body);
        counters.limitsChanged(account.id, false, hadLimits, account.getLimits());
        // Also the account's plan, which its cached keys carry: in effect here at once, elsewhere
        // within tollgate.keys.cache-ttl.
        keys.invalidateAccount(account.id);
        audit.record("account.update", account.id.toString(), body);
        return Views.AccountView.of(account);
    }

    /** {@code plan_id}: a plan's id, or null for the default plan. */
    private void applyPlan(Account account, JsonNode body) {
        if (!body.has("plan_id")) {
            return;
        }
        JsonNode v = body.get("plan_id");
        if (v.isNull()) {
            account.planId = null;
            return;
        }
        UUID planId = null;
        if (v.isTextual()) {
            try {
                planId = UUID.fromString(v.asText());
            } catch (IllegalArgumentException e) {
                // reported below
            }
        }
        if (planId == null || !plans.exists(planId)) {
            throw ApiException.invalidRequest("plan_id: " + (v.isTextual() ? "no plan " + v.asText()
                    : "must be a plan's id (a string) or null for the default plan"));
        }
        account.planId = planId;
    }

    private static void applyAccountSettings(Account account, JsonNode body) {
        LimitFields.apply(body, account.getLimits());
        if (body.has("fit_max_tokens")) {
            if (!body.get("fit_max_tokens").isBoolean()) {
                throw ApiException.invalidRequest("fit_max_tokens: must be true or false");
            }
            account.fitMaxTokens = body.get("fit_max_tokens").asBoolean();
        }
        if (body.has("fit_min_tokens")) {
            JsonNode v = body.get("fit_min_tokens");
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1) {
                throw ApiException.invalidRequest("fit_min_tokens: must be a positive integer");
            }
            account.fitMinTokens = v.asInt();
        }
        if (body.has("low_balance_threshold_usd")) {
            account.lowBalanceThreshold = Json.usd(body, "low_balance_threshold_usd", false);
        }
    }

    @GET
    @Path("/accounts/{id}")
    public Views.AccountView account(@PathParam("id") String id) {
        Account account = findAccount(id);
        return Views.AccountView.of(account, lots.view(account.id).stream().map(Views.CreditLotView::of).toList());
    }

    @POST
    @Path("/accounts/{id}/topups")
    public RestResponse<Views.TopupView> topup(@PathParam("id") String id, JsonNode body,
                                               @HeaderParam("Idempotency-Key") String idempotencyKey) {
        return credit(id, body, idempotencyKey, "topup");
    }

    /** A correction, positive or negative; the ledger is never edited. */
    @POST
    @Path("/accounts/{id}/adjustments")
    public RestResponse<Views.TopupView> adjust(@PathParam("id") String id, JsonNode body,
                                                @HeaderParam("Idempotency-Key") String idempotencyKey) {
        return credit(id, body, idempotencyKey, "adjustment");
    }

    private RestResponse<Views.TopupView> credit(String id, JsonNode body, String idempotencyKey, String kind) {
        UUID accountId = Json.uuid(id, "Account");
        Json.onlyFields(body, CREDIT_FIELDS);
        Long amount = Json.usd(body, "amount_usd", "adjustment".equals(kind));
        if (amount == null) {
            throw ApiException.invalidRequest("amount_usd: required, a decimal string such as \"10.00\"");
        }
        String note = Json.optionalString(body, "note", 500);
        Instant expiresAt = CreditExpiryFields.expiresAt(body, amount);
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 255)) {
            throw ApiException.invalidRequest("Idempotency-Key: must be 1 to 255 characters");
        }
        TopupService.Outcome outcome = topups.credit(accountId, amount, kind, note, expiresAt,
                CreditExpiryFields.asGiven(body), idempotencyKey);
        RestResponse.ResponseBuilder<Views.TopupView> response =
                RestResponse.ResponseBuilder.create(RestResponse.Status.CREATED, outcome.view());
        if (outcome.replayed()) {
            response.header("idempotent-replayed", "true");
        }
        return response.build();
    }

    @POST
    @Path("/accounts/{id}/keys")
    @Transactional
    public RestResponse<Views.IssuedKeyView> createKey(@PathParam("id") String id, JsonNode body) {
        Account account = findAccount(id);
        Json.onlyFields(body, KEY_FIELDS);
        String name = Json.requiredString(body, "name", 200);
        Instant expiresAt = Json.optionalInstant(body, "expires_at");
        if (expiresAt != null && !expiresAt.isAfter(Instant.now())) {
            throw ApiException.invalidRequest("expires_at: must be in the future");
        }
        String secret = ApiKeyService.newSecret();
        ApiKey key = new ApiKey();
        key.id = UUID.randomUUID();
        key.accountId = account.id;
        key.name = name;
        key.keyHash = keys.hashNewSecret(secret);
        key.prefix = ApiKeyService.displayPrefix(secret);
        key.expiresAt = expiresAt;
        key.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        applyKeySettings(key, body);
        key.persist();
        counters.limitsChanged(key.id, true, false, key.getLimits());
        audit.record("key.create", key.id.toString(), Map.of("account_id", account.id.toString(), "name", name));
        outbox.emit(Outbox.KEY_CREATED, Map.of("key_id", key.id.toString(), "account_id", account.id.toString(),
                "name", name, "prefix", key.prefix));
        return RestResponse.status(RestResponse.Status.CREATED, Views.IssuedKeyView.of(key, secret));
    }

    /** Changes a key's limits, allowed models and IP ranges, expiry or name. */
    @PATCH
    @Path("/keys/{id}")
    @Transactional
    public Views.KeyView updateKey(@PathParam("id") String id, JsonNode body) {
        ApiKey key = findKey(id);
        Json.onlyFields(body, KEY_FIELDS);
        if (body.has("name")) {
            key.name = Json.requiredString(body, "name", 200);
        }
        if (body.has("expires_at")) {
            key.expiresAt = Json.optionalInstant(body, "expires_at");
        }
        boolean hadLimits = key.getLimits().any();
        applyKeySettings(key, body);
        counters.limitsChanged(key.id, true, hadLimits, key.getLimits());
        keys.invalidate(key.id);
        audit.record("key.update", key.id.toString(), body);
        return Views.KeyView.of(key);
    }

    /**
     * Issues a new secret for a key; the old one keeps working for the grace period
     * ({@code grace_seconds}, default tollgate.key-rotation-grace), then stops.
     */
    @POST
    @Path("/keys/{id}/rotate")
    @Transactional
    public Views.IssuedKeyView rotateKey(@PathParam("id") String id, byte[] raw) {
        // The body is optional; when present it must be a JSON object (not merely something that decodes to nothing).
        JsonNode body = raw == null || raw.length == 0 ? null : parseObject(raw);
        ApiKey key = findKey(id);
        if (key.revokedAt != null) {
            throw new ApiException(409, "invalid_request_error", "Key " + id + " is revoked; issue a new key instead");
        }
        long grace = config.keyRotationGrace().toSeconds();
        if (body != null) {
            Json.onlyFields(body, Set.of("grace_seconds"));
        }
        if (body != null && body.has("grace_seconds")) {
            JsonNode v = body.get("grace_seconds");
            if (!v.isIntegralNumber() || v.asLong() < 0 || v.asLong() > 30L * 24 * 3600) {
                throw ApiException.invalidRequest("grace_seconds: must be an integer from 0 to 2592000 (30 days)");
            }
            grace = v.asLong();
        }
        String secret = ApiKeyService.newSecret();
        key.previousKeyHash = key.keyHash;
        key.previousExpiresAt = Instant.now().plusSeconds(grace).truncatedTo(ChronoUnit.MICROS);
        key.keyHash = keys.hashNewSecret(secret);
        key.prefix = ApiKeyService.displayPrefix(secret);
        keys.invalidate(key.id);
        audit.record("key.rotate", key.id.toString(), Map.of("grace_seconds", grace));
        return Views.IssuedKeyView.of(key, secret);
    }

    private void applyKeySettings(ApiKey key, JsonNode body) {
        if (body.has("allowed_models")) {
            key.allowedModels = allowedModels(body.get("allowed_models"));
        }
        if (body.has("allowed_ips")) {
            key.allowedCidrs = allowedIps(body.get("allowed_ips"));
        }
        LimitFields.apply(body, key.getLimits());
    }

    private JsonNode parseObject(byte[] raw) {
        try {
            JsonNode node = json.readTree(raw);
            return Json.object(node);
        } catch (java.io.IOException e) {
            throw ApiException.invalidRequest("The request body is not valid JSON");
        }
    }

    private static List<String> allowedIps(JsonNode node) {
        List<String> entries = Json.optionalStringList(node, "allowed_ips", "CIDR ranges");
        if (entries != null) {
            try {
                CidrSet.parse(entries);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidRequest("allowed_ips: " + e.getMessage());
            }
        }
        return entries;
    }

    /** Model names are resolved to priced model ids, so an alias allows the model it names. */
    private List<String> allowedModels(JsonNode node) {
        List<String> names = Json.optionalStringList(node, "allowed_models", "model names");
        if (names == null) {
            return null;
        }
        LinkedHashSet<String> ids = new LinkedHashSet<>();
        for (String name : names) {
            ids.add(prices.resolve(name)
                    .orElseThrow(() -> ApiException.invalidRequest("allowed_models: " + name + " is not a priced model"))
                    .price().id());
        }
        return new ArrayList<>(ids);
    }

    @GET
    @Path("/accounts/{id}/keys")
    public Views.Page<Views.KeyView> listKeys(@PathParam("id") String id) {
        Account account = findAccount(id);
        List<ApiKey> list = ApiKey.list("accountId", Sort.descending("createdAt"), account.id);
        return new Views.Page<>(list.stream().map(Views.KeyView::of).toList());
    }

    @DELETE
    @Path("/keys/{id}")
    @Transactional
    public Views.KeyView revokeKey(@PathParam("id") String id) {
        ApiKey key = findKey(id);
        if (key.revokedAt == null) {
            key.revokedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
            audit.record("key.revoke", key.id.toString(), Map.of());
            outbox.emit(Outbox.KEY_REVOKED, Map.of("key_id", key.id.toString(), "account_id", key.accountId.toString()));
        }
        keys.invalidate(key.id);
        return Views.KeyView.of(key);
    }

    /** The admin actions, newest first; optionally of one subject (an account or key id). */
    @GET
    @Path("/audit")
    @SuppressWarnings("unchecked")
    public Views.Page<Views.AuditView> auditLog(@QueryParam("subject_id") String subjectId, @QueryParam("limit") Integer limit) {
        var query = AuditEntry.find(subjectId == null ? "order by id desc" : "subjectId = ?1 order by id desc",
                subjectId == null ? new Object[0] : new Object[] {subjectId});
        List<AuditEntry> list = query.page(Page.ofSize(pageSize(limit))).list();
        return new Views.Page<>(list.stream().map(AuditEntry::view).toList());
    }

    private static ApiKey findKey(String id) {
        ApiKey key = ApiKey.findById(Json.uuid(id, "Key"));
        if (key == null) {
            throw ApiException.notFound("Key " + id + " not found");
        }
        return key;
    }

    /** Usage records in [from, to), newest first; walk any range with next_cursor. */
    @GET
    @Path("/accounts/{id}/usage")
    public Views.CursorPage<Views.UsageView> usage(@PathParam("id") String id, @QueryParam("limit") Integer limit,
                                                   @QueryParam("from") String from, @QueryParam("to") String to,
                                                   @QueryParam("cursor") String cursor) {
        Account account = findAccount(id);
        return listings.usage(account.id, Listings.instant("from", from), Listings.instant("to", to), limit, cursor);
    }

    /** Accounts, newest first; query matches a name prefix (any case) or an id prefix. */
    @GET
    @Path("/accounts")
    public Views.CursorPage<Map<String, Object>> listAccounts(@QueryParam("query") String query,
                                                              @QueryParam("limit") Integer limit,
                                                              @QueryParam("cursor") String cursor) {
        return listings.accounts(query, limit, cursor);
    }

    /** Keys of every account (or of account_id), newest first; query matches a name, id or key prefix. */
    @GET
    @Path("/keys")
    public Views.CursorPage<Views.KeyView> listAllKeys(@QueryParam("query") String query,
                                                       @QueryParam("account_id") String accountId,
                                                       @QueryParam("limit") Integer limit,
                                                       @QueryParam("cursor") String cursor) {
        return listings.keys(query, accountId, limit, cursor);
    }

    @GET
    @Path("/accounts/{id}/ledger")
    public Views.Page<Views.EntryView> ledgerEntries(@PathParam("id") String id, @QueryParam("limit") Integer limit) {
        Account account = findAccount(id);
        List<LedgerEntry> list = LedgerEntry.find("accountId", Sort.descending("id"), account.id)
                .page(Page.ofSize(pageSize(limit))).list();
        return new Views.Page<>(list.stream().map(Views.EntryView::of).toList());
    }

    /** Recomputes the account's totals from the append-only tables; consistent must always be true. */
    @GET
    @Path("/accounts/{id}/reconciliation")
    public Views.ReconciliationView reconciliation(@PathParam("id") String id) {
        UUID accountId = findAccount(id).id;
        return Views.ReconciliationView.of(accountId, ledger.reconcile(accountId));
    }

    private static int pageSize(Integer limit) {
        int size = limit == null ? 50 : limit;
        if (size < 1 || size > MAX_PAGE) {
            throw ApiException.invalidRequest("limit: must be between 1 and " + MAX_PAGE);
        }
        return size;
    }

    private static Account findAccount(String id) {
        Account account = Account.findById(Json.uuid(id, "Account"));
        if (account == null) {
            throw ApiException.notFound("Account " + id + " not found");
        }
        return account;
    }
}
