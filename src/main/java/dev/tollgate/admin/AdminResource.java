package dev.tollgate.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.keys.ApiKey;
import dev.tollgate.keys.ApiKeyService;
import dev.tollgate.ledger.Account;
import dev.tollgate.ledger.LedgerEntry;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.ledger.Money;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.metering.UsageRecord;
import io.quarkus.panache.common.Page;
import io.quarkus.panache.common.Sort;
import jakarta.transaction.Transactional;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
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
import java.util.UUID;

/** The operator's API: accounts, credits, keys, usage, ledger. Guarded by {@link AdminAuthFilter}. */
@Path("/admin/v1")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class AdminResource {

    private static final int MAX_PAGE = 1000;

    private final TopupService topups;
    private final ApiKeyService keys;
    private final LedgerStore ledger;
    private final PriceTable prices;

    public AdminResource(TopupService topups, ApiKeyService keys, LedgerStore ledger, PriceTable prices) {
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
        account.name = Json.requiredString(Json.object(body), "name", 200);
        account.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        account.persist();
        return RestResponse.status(RestResponse.Status.CREATED, Views.AccountView.of(account));
    }

    @GET
    @Path("/accounts/{id}")
    public Views.AccountView account(@PathParam("id") String id) {
        return Views.AccountView.of(findAccount(id));
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
        Json.object(body);
        String text = Json.amountText(body, "amount_usd");
        long amount;
        if ("adjustment".equals(kind) && text != null && text.trim().startsWith("-")) {
            amount = -Money.parsePositiveUsd("amount_usd", text.trim().substring(1));
        } else {
            amount = Money.parsePositiveUsd("amount_usd", text);
        }
        String note = Json.optionalString(body, "note", 500);
        if (idempotencyKey != null && (idempotencyKey.isBlank() || idempotencyKey.length() > 255)) {
            throw ApiException.invalidRequest("Idempotency-Key: must be 1 to 255 characters");
        }
        TopupService.Outcome outcome = topups.credit(accountId, amount, kind, note, idempotencyKey);
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
        Json.object(body);
        String name = Json.requiredString(body, "name", 200);
        Instant expiresAt = Json.optionalInstant(body, "expires_at");
        if (expiresAt != null && !expiresAt.isAfter(Instant.now())) {
            throw ApiException.invalidRequest("expires_at: must be in the future");
        }
        List<String> allowed = allowedModels(body.get("allowed_models"));
        String secret = ApiKeyService.newSecret();
        ApiKey key = new ApiKey();
        key.id = UUID.randomUUID();
        key.accountId = account.id;
        key.name = name;
        key.keyHash = keys.hash(secret);
        key.prefix = ApiKeyService.displayPrefix(secret);
        key.allowedModels = allowed;
        key.expiresAt = expiresAt;
        key.createdAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        key.persist();
        return RestResponse.status(RestResponse.Status.CREATED, new Views.IssuedKeyView(key.id, key.accountId, secret,
                key.name, key.prefix, key.allowedModels, key.expiresAt, key.createdAt));
    }

    /** Model names are resolved to priced model ids, so an alias allows the model it names. */
    private List<String> allowedModels(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray() || node.isEmpty()) {
            throw ApiException.invalidRequest("allowed_models: must be a non-empty array of model names, or omitted");
        }
        LinkedHashSet<String> ids = new LinkedHashSet<>();
        for (JsonNode m : node) {
            if (!m.isTextual()) {
                throw ApiException.invalidRequest("allowed_models: every entry must be a string");
            }
            ids.add(prices.resolve(m.asText())
                    .orElseThrow(() -> ApiException.invalidRequest("allowed_models: " + m.asText() + " is not a priced model"))
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
        ApiKey key = ApiKey.findById(Json.uuid(id, "Key"));
        if (key == null) {
            throw ApiException.notFound("Key " + id + " not found");
        }
        if (key.revokedAt == null) {
            key.revokedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        }
        keys.invalidate(key.id);
        return Views.KeyView.of(key);
    }

    @GET
    @Path("/accounts/{id}/usage")
    public Views.Page<Views.UsageView> usage(@PathParam("id") String id, @QueryParam("limit") Integer limit) {
        Account account = findAccount(id);
        List<UsageRecord> list = UsageRecord.find("accountId", Sort.descending("id"), account.id)
                .page(Page.ofSize(pageSize(limit))).list();
        return new Views.Page<>(list.stream().map(Views.UsageView::of).toList());
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
