package dev.tollgate.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.keys.ApiKeyService;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.ledger.Hold;
import dev.tollgate.ledger.InsufficientBalanceException;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.ledger.Money;
import dev.tollgate.limits.LimitExceededException;
import dev.tollgate.limits.RateWindow;
import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.HoldEstimator;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.metering.TokenUsage;
import dev.tollgate.ops.CallMetrics;
import dev.tollgate.ops.RequestLogContext;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.UpstreamAttempts;
import dev.tollgate.upstream.pool.UpstreamPool;
import io.quarkus.logging.Log;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpServerRequest;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What every metered surface does before and after the upstream call: authenticate the key,
 * resolve and authorise the model, hold the call's worst-case cost, and settle it afterwards.
 * Blocking work (the database, count_tokens) runs on virtual threads, never on the event loop.
 * A singleton (no client proxy) because the per-call code reads its collaborators directly.
 */
@Singleton
public class Gateway {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The fields count_tokens accepts (digest §6.1); everything else is dropped for counting. */
    private static final List<String> COUNT_FIELDS =
            List.of("model", "messages", "system", "tools", "tool_choice", "thinking");

    private final ExecutorService blocking = RequestLogContext.propagating(Executors.newVirtualThreadPerTaskExecutor());
    @Inject
    CallMetrics metrics;
    /** Who owns the files and skills a request names (another account's are 404). */
    @Inject
    public dev.tollgate.files.Ownership ownership;
    /** What code execution made during a call (files, its container), recorded as the account's. */
    @Inject
    dev.tollgate.files.GeneratedResources generated;
    @Inject
    dev.tollgate.plans.PlanBook plans;
    final ApiKeyService keys;
    final PriceTable prices;
    final HoldEstimator estimator;
    final LedgerStore ledger;
    final UpstreamClient upstream;
    final UpstreamPool pool;
    final TollgateConfig config;
    /** Respond only after the settlement commits (config, or the Lambda build); else respond, then settle. */
    final boolean settleBeforeResponse;
    private final ClientIps clientIps;

    public Gateway(ApiKeyService keys, PriceTable prices, HoldEstimator estimator, LedgerStore ledger,
                   UpstreamClient upstream, UpstreamPool pool, TollgateConfig config, ClientIps clientIps) {
        this.clientIps = clientIps;
        this.keys = keys;
        this.prices = prices;
        this.estimator = estimator;
        this.ledger = ledger;
        this.upstream = upstream;
        this.pool = pool;
        this.config = config;
        this.settleBeforeResponse = ledger.settlesBeforeResponse();
    }

    public ExecutorService blocking() {
        return blocking;
    }

    /** Model facts for surfaces that translate requests before the model is billed. */
    public Surface.PriceLookup priceLookup() {
        return new Surface.PriceLookup() {
            @Override
            public Integer maxOutputTokens(String model) {
                return prices.resolve(model).map(r -> r.price().maxOutputTokens()).orElse(null);
            }

            @Override
            public boolean structuredOutputs(String model) {
                return prices.resolve(model).map(r -> r.price().structuredOutputs()).orElse(false);
            }
        };
    }

    /**
     * The key from x-api-key or Authorization: Bearer (the newest SDKs send the latter), checked
     * against the key's allowed client IP ranges.
     */
    public AuthenticatedKey authenticate(HttpServerRequest request) {
        return authenticate(request, false);
    }

    /** As {@link #authenticate(HttpServerRequest)} from memory only (never blocks): null when the key must be looked up. */
    AuthenticatedKey authenticateCached(HttpServerRequest request) {
        return authenticate(request, true);
    }

    private AuthenticatedKey authenticate(HttpServerRequest request, boolean cachedOnly) {
        MultiMap headers = request.headers();
        String presented = headers.get("x-api-key");
        String header = ApiKeyService.X_API_KEY;
        if (presented == null || !presented.startsWith(ApiKeyService.KEY_PREFIX)) {
            String authorization = headers.get("authorization");
            if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                presented = authorization.substring(7).trim();
                header = ApiKeyService.AUTHORIZATION_BEARER;
            }
        }
        // The client's address is worked out only when needed: for a key not known in memory (the
        // failed-authentication limit is per address) or with an allowlist (most have neither).
        java.util.function.Supplier<String> clientIp = () -> clientIps.clientIp(request);
        AuthenticatedKey key = cachedOnly ? keys.authenticateCached(presented, header, clientIp)
                : keys.authenticate(presented, header, clientIp);
        if (key == null) {
            return null;
        }
        if (key.allowedIps() != null && !key.allowsIp(clientIps.clientIp(request))) {
            throw ApiException.permission("This API key may not be used from this IP address");
        }
        return key;
    }

    /** @throws ApiException 404 for a model that is not priced or is retired, 403 for one the key may not use */
    public PriceTable.Resolved resolveModel(String requested, AuthenticatedKey key) {
        PriceTable.Resolved resolved = servedModel(requested);
        if (!key.allows(resolved.price().id())) {
            throw ApiException.permission("This API key may not use model " + requested);
        }
        return resolved;
    }

    /**
     * A model this gateway serves today.
     *
     * @throws ApiException 404 saying where the served models are listed, or, for a retired model,
     *                      when it was retired and what replaces it
     */
    PriceTable.Resolved servedModel(String requested) {
        plans.refreshIfStale(); // stored prices, where no timer re-reads them (Lambda)
        PriceTable.Resolved resolved = prices.resolve(requested).orElseThrow(() -> ApiException.notFound(
                "model: " + requested + " is not a model this gateway serves; GET /v1/models lists the models available"));
        ModelPrice.Retirement retirement = resolved.price().retirement();
        if (prices.retired(resolved.price())) {
            throw ApiException.notFound("model: " + requested + " was retired on " + retirement.on()
                    + (retirement.replacement() == null ? "" : "; use " + retirement.replacement() + " instead")
                    + " (GET /v1/models lists the models available)");
        }
        return resolved;
    }

    /**
     * Fast mode is billed at the model's fast rates; a model the table has none for is refused
     * before anything is held, rather than served at a price nobody set.
     *
     * @throws ApiException 400 invalid_request_error naming the models that offer it
     */
    private void requireOfferedSpeed(PriceTable.Resolved model, MessagesRequest request) {
        if (request.requestedModifiers().fast() && model.price().fast() == null) {
            throw ApiException.invalidRequest("speed: fast mode is not available for " + model.price().id()
                    + "; it is offered for " + String.join(", ", prices.available().stream()
                    .filter(m -> m.fast() != null).map(ModelPrice::id).toList()));
        }
    }

    /** What was admitted: the hold, the key's rate counters, and the request as it will be sent. */
    public record Admitted(Hold hold, RateWindow keyWindow, MessagesRequest request, byte[] upstreamBody,
                           Long loweredMaxTokens) {
    }

    /**
     * Admits the call against the key's and account's limits and holds its worst-case cost: the
     * bound that needs no round trip first ({@link #boundWithoutCounting}), and only when that does
     * not fit the balance and a count can bound the input, the bound from the upstream's exact
     * count_tokens. An account that opted in, or a call whose client set no output limit, gets
     * max_tokens lowered to what its balance pays for instead of a 402.
     *
     * @throws ApiException 402 billing_error, or 429 rate_limit_error from a limit
     */
    public Admitted hold(AuthenticatedKey key, PriceTable.Resolved model, MessagesRequest request, byte[] upstreamBody,
                         MultiMap clientHeaders, LedgerStore.CallInfo call) {
        requireOfferedSpeed(model, request);
        Function<MessagesRequest, HoldEstimator.Bound> uncounted = r -> boundWithoutCounting(model, r);
        HoldEstimator.InputBound inputBound = request.inputBound();
        try {
            if (inputBound == HoldEstimator.InputBound.COUNT_TOKENS && key.limited()) {
                // Token limits and spend caps count a hold too: a context-window hold would use them up for nothing.
                return holdOrFit(countedOr(uncounted, model, stickinessKey(key, request), upstreamBody, clientHeaders), key, model, request,
                        upstreamBody, call);
            }
            HoldEstimator.Bound first = uncounted.apply(request);
            try {
                return admitted(key, first, call, request, upstreamBody, null);
            } catch (InsufficientBalanceException firstMiss) {
                // No count made before the call bounds what enters its context while it runs.
                Function<MessagesRequest, HoldEstimator.Bound> boundOf = inputBound == HoldEstimator.InputBound.CONTEXT_WINDOW
                        ? uncounted : countedOr(uncounted, model, stickinessKey(key, request), upstreamBody, clientHeaders);
                if (boundOf.apply(request).nanos() < first.nanos()) {
                    return holdOrFit(boundOf, key, model, request, upstreamBody, call);
                }
                return fitOrRefuse(firstMiss, boundOf, key, model, request, call);
            }
        } catch (LimitExceededException e) {
            throw limitError(e);
        }
    }

    /** The bound from the upstream's count_tokens, or {@code otherwise} when no count could be had. */
    private Function<MessagesRequest, HoldEstimator.Bound> countedOr(Function<MessagesRequest, HoldEstimator.Bound> otherwise,
                                                                     PriceTable.Resolved model, String stickinessKey,
                                                                     byte[] upstreamBody, MultiMap clientHeaders) {
        Long counted = countTokens(model.price().id(), stickinessKey, upstreamBody, clientHeaders);
        var webSearch = prices.calculator().webSearchUsdPerRequest();
        return counted == null ? otherwise : r -> estimator.exactBound(model.charged(), r, counted, webSearch);
    }

    /**
     * A bound without a round trip: the body's bytes when the body holds all the input, else the
     * model's whole context window (documents by file_id are then counted only if that does not
     * fit, or at once for a key or account with limits).
     */
    private HoldEstimator.Bound boundWithoutCounting(PriceTable.Resolved model, MessagesRequest request) {
        var webSearch = prices.calculator().webSearchUsdPerRequest();
        return request.inputBound() == HoldEstimator.InputBound.BODY
                ? estimator.cheapBound(model.charged(), request, webSearch)
                : estimator.contextWindowBound(model.charged(), request, webSearch);
    }

    /** Holds {@code boundOf(request)}, or, when the balance cannot cover it, fits max_tokens or refuses. */
    private Admitted holdOrFit(Function<MessagesRequest, HoldEstimator.Bound> boundOf, AuthenticatedKey key,
                               PriceTable.Resolved model, MessagesRequest request, byte[] upstreamBody,
                               LedgerStore.CallInfo call) {
        try {
            return admitted(key, boundOf.apply(request), call, request, upstreamBody, null);
        } catch (InsufficientBalanceException miss) {
            return fitOrRefuse(miss, boundOf, key, model, request, call);
        }
    }

    /**
     * The call admitted from this instance's reserve for the key's account, without blocking (for
     * the event loop); null when it needs the database (limits, no reserve ready here, or a worst
     * case the reserve does not cover) and must go through {@link #hold}.
     */
    Admitted admitInMemory(AuthenticatedKey key, PriceTable.Resolved model, MessagesRequest request,
                           byte[] upstreamBody) {
        if (key.limited()) {
            return null;
        }
        requireOfferedSpeed(model, request);
        Hold hold = ledger.holdInMemory(key.accountId(), boundWithoutCounting(model, request).nanos());
        return hold == null ? null : new Admitted(hold, null, request, upstreamBody, null);
    }

    private Admitted admitted(AuthenticatedKey key, HoldEstimator.Bound bound, LedgerStore.CallInfo call,
                              MessagesRequest request, byte[] upstreamBody, Long lowered) {
        LedgerStore.Admission admission = ledger.hold(key.accountId(), bound.nanos(), bound.tokens(), call,
                config.holds().ttl(), !key.limited());
        return new Admitted(admission.hold(), admission.keyWindow(), request, upstreamBody, lowered);
    }

    /**
     * Lowers max_tokens to what the available balance pays for (at least the account's
     * fit_min_tokens) when the account opted in or the client set no output limit; else 402.
     * Extended thinking needs max_tokens above its budget: a lower one would only be refused upstream.
     */
    private Admitted fitOrRefuse(InsufficientBalanceException miss,
                                 Function<MessagesRequest, HoldEstimator.Bound> boundOf, AuthenticatedKey key,
                                 PriceTable.Resolved model, MessagesRequest request, LedgerStore.CallInfo call) {
        long affordable = boundOf.apply(request).affordableMaxTokens(miss.availableNanos());
        boolean mayFit = miss.fitMaxTokens() || request.maxTokensDefaulted();
        long smallest = Math.max(miss.fitMinTokens(), request.thinkingBudgetTokens() + 1);
        if (!mayFit || affordable < smallest || affordable >= request.maxTokens()) {
            throw billingError(miss, request);
        }
        MessagesRequest lowered = request.withMaxTokens(affordable);
        try {
            return admitted(key, boundOf.apply(lowered), call, lowered, lowered.bodyWithModel(model.upstreamModel()),
                    affordable);
        } catch (InsufficientBalanceException stillShort) {
            throw billingError(stillShort, request);
        }
    }

    private static ApiException billingError(InsufficientBalanceException e, MessagesRequest request) {
        String input = request.inputBound() == HoldEstimator.InputBound.CONTEXT_WINDOW
                ? "the model's whole context window as input, because documents by URL, container uploads,"
                + " MCP servers and server tools add input while the call runs"
                : "the input at most";
        return new ApiException(402, "billing_error", "Insufficient balance: this request needs "
                + Money.format(e.neededNanos()) + " USD held (max_tokens " + request.maxTokens()
                + " at the output price plus " + input + "), and "
                + Money.format(Math.max(0, e.availableNanos())) + " USD is available."
                + " Top up the account or lower max_tokens.");
    }

    /** 429 in the shape the official SDKs act on: retry-after for rates, an error code for spend caps. */
    public static ApiException limitError(LimitExceededException e) {
        String whose = e.subject().equals("key") ? "this API key's" : "this account's";
        if (e.spendCap()) {
            return new ApiException(429, "rate_limit_error", "You have reached " + whose + " " + e.limit()
                    + " spend limit of " + Money.format(e.value()) + " USD"
                    + (e.limit().equals("lifetime") ? "." : " (calendar " + (e.limit().equals("daily") ? "day" : "month")
                    + ", UTC)."))
                    .errorCode("spend_limit_reached");
        }
        String what = switch (e.limit()) {
            case "requests" -> e.value() + " requests per minute";
            case "tokens" -> e.value() + " input and output tokens per minute";
            default -> e.value() + " concurrent requests";
        };
        ApiException error = new ApiException(429, "rate_limit_error",
                "This request would exceed " + whose + " rate limit of " + what + ". Retry after "
                        + e.retryAfterSeconds() + " s.")
                .header("retry-after", Long.toString(e.retryAfterSeconds()));
        if (!e.limit().equals("concurrent")) {
            String kind = e.limit();
            error.header("anthropic-ratelimit-" + kind + "-limit", Long.toString(e.value()))
                    .header("anthropic-ratelimit-" + kind + "-remaining", "0")
                    .header("anthropic-ratelimit-" + kind + "-reset",
                            java.time.Instant.now().plusSeconds(e.retryAfterSeconds())
                                    .truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        }
        return error;
    }

    /**
     * What keeps a conversation on one upstream (and its prompt cache): metadata.user_id when the
     * request has one (Claude Code's session id), else the account.
     */
    static String stickinessKey(AuthenticatedKey key, MessagesRequest request) {
        return request.userId() != null ? request.userId() : key.accountId().toString();
    }

    /**
     * The count of input tokens by the first upstream that takes the call (the one its turns stick
     * to while healthy), or null if it could not be had (the cheap bound stands).
     */
    private Long countTokens(String modelId, String stickinessKey, byte[] upstreamBody, MultiMap clientHeaders) {
        UpstreamAttempts route = pool.route(modelId, stickinessKey);
        if (!route.advance()) {
            return null;
        }
        try {
            JsonNode full = JSON.readTree(upstreamBody);
            ObjectNode countBody = JSON.createObjectNode();
            for (String field : COUNT_FIELDS) {
                if (full.has(field)) {
                    countBody.set(field, full.get(field));
                }
            }
            byte[] bytes = JSON.writeValueAsBytes(countBody);
            UpstreamClient.Answer answer = upstream.onContext(() -> route.current().dialect()
                            .countTokens(upstream, modelId, bytes, clientHeaders, null))
                    .toCompletionStage().toCompletableFuture()
                    .get(config.upstream().countTokensTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (answer.status() != 200) {
                Log.debugf("count_tokens for the exact hold answered %d", answer.status());
                return null;
            }
            JsonNode count = JSON.readTree(answer.body().getBytes()).get("input_tokens");
            return count != null && count.canConvertToLong() ? count.asLong() : null;
        } catch (IOException | RuntimeException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            Log.debugf("count_tokens for the exact hold failed: %s", e.toString());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } finally {
            route.release();
        }
    }

    /** Whether this call's response must wait for its settlement: configured so, or the ledger is behind. */
    boolean responseWaitsForSettlement() {
        return settleBeforeResponse || ledger.queuedSettlements() >= config.settlement().maxQueued();
    }

    /** Settles or releases a hold with the call's record; completes once it is durably written. */
    public CompletableFuture<Void> settle(Hold hold, CallRecord record) {
        TokenUsage u = record.usage();
        // Token limits count what Anthropic's ITPM/OTPM count: input, cache writes and output, not cache reads.
        return ledger.settle(hold, record, u.input() + u.cacheWrite5m() + u.cacheWrite1h() + u.output());
    }

    /**
     * The model at the price its account's plan charges (holds and charges are computed at it);
     * null when the plan is not known here yet and {@code mayBlock} is false (reading it would block).
     */
    public PriceTable.Resolved priced(PriceTable.Resolved model, AuthenticatedKey key, boolean mayBlock) {
        ModelPrice charged = plans.charged(key.planId(), model.price(), mayBlock);
        return charged == null ? null : model.chargedAt(charged, key.planId());
    }

    /**
     * The call's charge, at the plan's price: at the modifiers the upstream reported applying, else
     * at those the request asked for.
     */
    public long cost(PriceTable.Resolved model, MessagesRequest request, TokenUsage usage) {
        return prices.calculator().costNanos(model.charged(), usage.withRequested(request.requestedModifiers()));
    }

    /**
     * The same usage at list price times the serving upstream's price multiplier (1: the common
     * case, no arithmetic), rounded once half-up to 1e-9 USD: what the upstream bills the operator
     * for the call. {@code multiplier}: null when no upstream served.
     */
    public long upstreamCost(PriceTable.Resolved model, MessagesRequest request, TokenUsage usage, long cost,
                             java.math.BigDecimal multiplier) {
        long list = model.charged() == model.price() ? cost
                : prices.calculator().costNanos(model.price(), usage.withRequested(request.requestedModifiers()));
        if (multiplier == null || multiplier == java.math.BigDecimal.ONE || list == 0) {
            return list;
        }
        return java.math.BigDecimal.valueOf(list).multiply(multiplier)
                .setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
    }
}
