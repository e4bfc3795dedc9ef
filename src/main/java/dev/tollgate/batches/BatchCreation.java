package dev.tollgate.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.api.ErrorResponder;
import dev.tollgate.api.RequestIds;
import dev.tollgate.files.Passthrough;
import dev.tollgate.gateway.Gateway;
import dev.tollgate.gateway.MessagesRequest;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.ledger.Money;
import dev.tollgate.limits.LimitExceededException;
import dev.tollgate.metering.HoldEstimator;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.Upstream;
import io.quarkus.logging.Log;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.batches.BatchView.BASE;
import static dev.tollgate.batches.BatchView.JSON;

/**
 * {@code POST /v1/messages/batches}: every request validated like a Messages call and what it names
 * checked as the account's, the key's and account's limits and the balance admitting the batch's
 * worst case at batch prices (held until {@link BatchSettler} settles it), then the batch created on
 * an Anthropic-kind upstream and recorded as the account's. Nothing is sent upstream before all of
 * that passed.
 */
@Singleton
class BatchCreation {

    private final Passthrough pass;
    private final BatchStore store;
    private final BatchesConfig config;
    private final PriceTable prices;
    private final HoldEstimator estimator;
    private final BatchView view;

    BatchCreation(Passthrough pass, BatchStore store, BatchesConfig config, PriceTable prices, HoldEstimator estimator,
                  BatchView view) {
        this.pass = pass;
        this.store = store;
        this.config = config;
        this.prices = prices;
        this.estimator = estimator;
        this.view = view;
    }

    /** What create admitted: the hold, the upstream, the body to send (the spooled file, or its rewrite). */
    private record Admitted(AuthenticatedKey key, UUID hold, Upstream upstream, Path body, int requests, String models) {
    }

    void create(RoutingContext ctx) {
        String requestId = RequestIds.of(ctx);
        BatchSpool.receive(ctx, config.maxBytes(), spooled -> pass.blocking(ctx, () -> admit(ctx, spooled, requestId),
                admitted -> pass.exchangeFile(admitted.upstream(), HttpMethod.POST, BASE + Passthrough.query(ctx), ctx,
                                admitted.body())
                        .onComplete(ar -> pass.gateway.blocking().execute(() -> delete(spooled, admitted.body())))
                        .onSuccess(answer -> created(ctx, admitted, answer))
                        .onFailure(t -> {
                            // Unknown outcome after a send: the batch may exist upstream; it is not ours to bill without its id.
                            pass.gateway.blocking().execute(() -> store.release(admitted.hold(), "batch not created: " + t));
                            Passthrough.failed(ctx, t);
                        })));
    }

    /**
     * Validates every request, checks ownership of what they name, and holds the batch's worst case;
     * the spooled body is deleted when anything refuses.
     */
    private Admitted admit(RoutingContext ctx, Path spooled, String requestId) {
        try {
            AuthenticatedKey key = pass.authenticate(ctx);
            Tally tally = new Tally(key);
            List<BatchRequests.Item> items = BatchRequests.parse(spooled, config.maxRequests(), tally);
            UUID pinned = owned(key, items, tally);
            Upstream upstream = pinned != null ? pass.upstreamOf(pinned) : pass.newResourceUpstream(key.accountId());
            UUID hold = UUID.randomUUID();
            Long available;
            try {
                available = store.hold(hold, key.accountId(), key.id(), requestId, tally.firstModel, tally.worst,
                        config.holdLease());
            } catch (LimitExceededException e) {
                throw Gateway.limitError(e);
            }
            if (available != null) {
                throw new ApiException(402, "billing_error", "Insufficient balance: this batch needs "
                        + Money.format(tally.worst) + " USD held (the sum of its " + items.size() + " requests' worst"
                        + " cases at batch prices: max_tokens at the output price plus the input at most), and "
                        + Money.format(Math.max(0, available)) + " USD is available. Top up the account, lower"
                        + " max_tokens or split the batch.");
            }
            try {
                return new Admitted(key, hold, upstream, BatchRequests.rewrite(spooled, items, tally.replaced),
                        items.size(), tally.models.toString());
            } catch (IOException | RuntimeException e) {
                store.release(hold, "batch not created");
                throw new IllegalStateException("the batch body could not be rewritten", e);
            }
        } catch (RuntimeException e) {
            delete(spooled, spooled);
            throw e;
        }
    }

    /** What the requests add up to, taken request by request as they are read (their params then dropped). */
    private final class Tally implements BatchRequests.Check {
        private final AuthenticatedKey key;
        private final BigDecimal webSearch = prices.calculator().webSearchUsdPerRequest();
        final ObjectNode models = JSON.createObjectNode();
        final List<String> files = new ArrayList<>();
        final List<String> skills = new ArrayList<>();
        final List<String> containers = new ArrayList<>();
        /** Request index → the stored resources it names (only requests naming any), to attribute a refusal. */
        final Map<Integer, List<String>> named = new HashMap<>();
        /** Request index → its params as sent upstream, where they differ (a model alias spliced). */
        final Map<Integer, byte[]> replaced = new HashMap<>();
        long worst;
        String firstModel;

        Tally(AuthenticatedKey key) {
            this.key = key;
        }

        @Override
        public void check(BatchRequests.Item item, MessagesRequest params) {
            PriceTable.Resolved model;
            try {
                model = pass.gateway.priced(pass.gateway.resolveModel(params.model(), key), key, true);
            } catch (ApiException e) {
                throw item.refuse(e);
            }
            List<String> ids = new ArrayList<>(0);
            for (List<String> some : Arrays.asList(params.fileIds(), params.customSkillIds(), params.containerIds())) {
                if (some != null) {
                    ids.addAll(some);
                }
            }
            if (!ids.isEmpty()) {
                named.put(item.index(), ids);
                addAll(files, params.fileIds());
                addAll(skills, params.customSkillIds());
                addAll(containers, params.containerIds());
            }
            HoldEstimator.Bound bound = params.inputBound() == HoldEstimator.InputBound.BODY
                    ? estimator.cheapBound(model.charged(), params, webSearch)
                    : estimator.contextWindowBound(model.charged(), params, webSearch);
            worst = Math.addExact(worst, prices.calculator().batchBoundNanos(bound.nanos()));
            byte[] upstreamParams = params.bodyWithModel(model.upstreamModel());
            if (upstreamParams != params.body()) {
                replaced.put(item.index(), upstreamParams);
            }
            models.put(item.customId(), (params.onlyOneHourTtl() ? "1h:" : "") + model.price().id());
            if (firstModel == null) {
                firstModel = params.model();
            }
        }

        private static void addAll(List<String> to, List<String> ids) {
            if (ids != null) {
                to.addAll(ids);
            }
        }
    }

    /**
     * One ownership check for every file, custom skill and container the batch's requests name; a
     * refusal names the first request that named the one not owned.
     */
    private UUID owned(AuthenticatedKey key, List<BatchRequests.Item> items, Tally tally) {
        if (tally.named.isEmpty()) {
            return null;
        }
        try {
            return pass.gateway.ownership.check(key.accountId(), tally.files, tally.skills, tally.containers);
        } catch (ApiException e) {
            for (BatchRequests.Item item : items) {
                for (String id : tally.named.getOrDefault(item.index(), List.of())) {
                    if (e.getMessage().endsWith(": " + id)) {
                        throw item.refuse(e);
                    }
                }
            }
            throw e;
        }
    }

    private static void delete(Path spooled, Path sent) {
        try {
            Files.deleteIfExists(spooled);
            Files.deleteIfExists(sent);
        } catch (IOException e) {
            Log.warnf("Could not delete a batch body's temporary file: %s", e.toString());
        }
    }

    private void created(RoutingContext ctx, Admitted admitted, UpstreamClient.Answer answer) {
        pass.gateway.blocking().execute(() -> {
            if (!Passthrough.ok(answer.status())) {
                store.release(admitted.hold(), "batch refused upstream (" + answer.status() + ")");
                ctx.vertx().runOnContext(v -> Passthrough.refuse(ctx, answer));
                return;
            }
            JsonNode batch;
            try {
                batch = JSON.readTree(answer.body().getBytes());
            } catch (IOException e) {
                batch = null;
            }
            String id = batch == null ? null : batch.path("id").asText(null);
            if (id == null) {
                Log.errorf("The upstream created a batch but its answer has no id: %s", answer.body());
                store.release(admitted.hold(), "batch answer without an id");
                ctx.vertx().runOnContext(v -> ErrorResponder.send(ctx, ApiException.upstreamUnavailable(
                        "The upstream's answer could not be read")));
                return;
            }
            if (!record(id, admitted, batch)) {
                ctx.vertx().runOnContext(v -> ErrorResponder.send(ctx, new ApiException(500, "api_error",
                        "The batch " + id + " was created upstream but could not be recorded; contact the operator")));
                return;
            }
            byte[] out = view.forCustomer(ctx, batch);
            ctx.vertx().runOnContext(v -> Passthrough.respondJson(ctx, answer.status(), out));
        });
    }

    /** The batch's ownership row, retried a few times: without it the batch could be neither reached nor billed. */
    private boolean record(String id, Admitted admitted, JsonNode batch) {
        for (int attempt = 1; ; attempt++) {
            try {
                store.insert(id, admitted.key().accountId(), admitted.key().id(), admitted.upstream().id(), admitted.hold(),
                        admitted.requests(), batch.toString(), batch.path("processing_status").asText("in_progress"),
                        admitted.models(), admitted.key().planId());
                return true;
            } catch (RuntimeException e) {
                if (attempt == 3) {
                    Log.errorf(e, "Batch %s of account %s was created upstream but could not be recorded; its hold %s"
                            + " stays until its lease ends", id, admitted.key().accountId(), admitted.hold());
                    return false;
                }
                try {
                    Thread.sleep(200L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
    }
}
