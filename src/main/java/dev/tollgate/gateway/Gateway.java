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
import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.HoldEstimator;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.ops.CallMetrics;
import dev.tollgate.ops.RequestLogContext;
import dev.tollgate.upstream.UpstreamClient;
import io.quarkus.logging.Log;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

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
    final ApiKeyService keys;
    final PriceTable prices;
    final HoldEstimator estimator;
    final LedgerStore ledger;
    final UpstreamClient upstream;
    final TollgateConfig config;

    public Gateway(ApiKeyService keys, PriceTable prices, HoldEstimator estimator, LedgerStore ledger,
                   UpstreamClient upstream, TollgateConfig config) {
        this.keys = keys;
        this.prices = prices;
        this.estimator = estimator;
        this.ledger = ledger;
        this.upstream = upstream;
        this.config = config;
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

    /** The key from x-api-key or Authorization: Bearer (the newest SDKs send the latter). */
    public AuthenticatedKey authenticate(MultiMap headers) {
        String key = headers.get("x-api-key");
        if (key == null || !key.startsWith(ApiKeyService.KEY_PREFIX)) {
            String authorization = headers.get("authorization");
            if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                key = authorization.substring(7).trim();
            }
        }
        return keys.authenticate(key);
    }

    /** @throws ApiException 404 for a model that is not priced, 403 for one the key may not use */
    public PriceTable.Resolved resolveModel(String requested, AuthenticatedKey key) {
        PriceTable.Resolved resolved = prices.resolve(requested)
                .orElseThrow(() -> ApiException.notFound("model: " + requested));
        if (!key.allows(resolved.price().id())) {
            throw ApiException.permission("This API key may not use model " + requested);
        }
        return resolved;
    }

    /**
     * Holds the call's worst-case cost: the cheap bound first, and only when that does not fit
     * the balance, the bound from the upstream's exact count_tokens.
     *
     * @throws ApiException 402 billing_error when even the exact bound does not fit
     */
    public Hold hold(AuthenticatedKey key, PriceTable.Resolved model, MessagesRequest request, byte[] upstreamBody,
                     MultiMap clientHeaders, LedgerStore.CallInfo call) {
        var webSearch = prices.calculator().webSearchUsdPerRequest();
        long cheap = estimator.cheapBound(model.price(), request, webSearch);
        try {
            return ledger.hold(key.accountId(), cheap, call, config.holds().ttl());
        } catch (InsufficientBalanceException cheapMiss) {
            Long counted = countTokens(upstreamBody, clientHeaders);
            if (counted == null) {
                throw billingError(cheapMiss, request);
            }
            long exact = estimator.exactBound(model.price(), request, counted, webSearch);
            if (exact >= cheap) {
                throw billingError(cheapMiss, request);
            }
            try {
                return ledger.hold(key.accountId(), exact, call, config.holds().ttl());
            } catch (InsufficientBalanceException exactMiss) {
                throw billingError(exactMiss, request);
            }
        }
    }

    private static ApiException billingError(InsufficientBalanceException e, MessagesRequest request) {
        return new ApiException(402, "billing_error", "Insufficient balance: this request needs "
                + Money.format(e.neededNanos()) + " USD held (max_tokens " + request.maxTokens()
                + " at the output price plus the input at most), and "
                + Money.format(Math.max(0, e.availableNanos())) + " USD is available."
                + " Top up the account or lower max_tokens.");
    }

    /** The upstream's count of input tokens, or null if it could not be had (the cheap bound stands). */
    private Long countTokens(byte[] upstreamBody, MultiMap clientHeaders) {
        try {
            JsonNode full = JSON.readTree(upstreamBody);
            ObjectNode countBody = JSON.createObjectNode();
            for (String field : COUNT_FIELDS) {
                if (full.has(field)) {
                    countBody.set(field, full.get(field));
                }
            }
            byte[] bytes = JSON.writeValueAsBytes(countBody);
            Buffer response = upstream.open(HttpMethod.POST, "/v1/messages/count_tokens", clientHeaders, false)
                    .compose(req -> upstream.send(req, bytes))
                    .compose(resp -> resp.statusCode() == 200 ? resp.body()
                            : io.vertx.core.Future.failedFuture("count_tokens answered " + resp.statusCode()))
                    .toCompletionStage().toCompletableFuture()
                    .get(config.upstream().connectTimeout().toMillis() * 3, TimeUnit.MILLISECONDS);
            JsonNode count = JSON.readTree(response.getBytes()).get("input_tokens");
            return count != null && count.canConvertToLong() ? count.asLong() : null;
        } catch (IOException | RuntimeException | java.util.concurrent.ExecutionException
                 | java.util.concurrent.TimeoutException e) {
            Log.debugf("count_tokens for the exact hold failed: %s", e.toString());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Settles or releases a hold with the call's record. Blocking. */
    public void settle(Hold hold, CallRecord record) {
        ledger.settle(hold, record);
    }

    public long cost(PriceTable.Resolved model, dev.tollgate.metering.TokenUsage usage) {
        return prices.calculator().costNanos(model.price(), usage);
    }
}
