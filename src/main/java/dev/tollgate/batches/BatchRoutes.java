package dev.tollgate.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.api.BodyReader;
import dev.tollgate.api.ErrorResponder;
import dev.tollgate.api.RequestIds;
import dev.tollgate.files.Passthrough;
import dev.tollgate.gateway.Gateway;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.limits.LimitExceededException;
import dev.tollgate.ledger.Money;
import dev.tollgate.metering.HoldEstimator;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.Upstream;
import io.quarkus.logging.Log;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Message Batches ({@code /v1/messages/batches}), each batch its account's own: created on an
 * Anthropic-kind upstream after every request is validated like a Messages call and the batch's
 * worst case at batch prices is held; read, listed, cancelled, deleted and its results streamed
 * only by its account (another account gets 404). {@link BatchSettler} bills it once it has ended.
 */
@ApplicationScoped
public class BatchRoutes {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String BASE = "/v1/messages/batches";

    private final Passthrough pass;
    private final BatchStore store;
    private final BatchSettler settler;
    private final BatchesConfig config;
    private final PriceTable prices;
    private final HoldEstimator estimator;

    public BatchRoutes(Passthrough pass, BatchStore store, BatchSettler settler, BatchesConfig config, PriceTable prices,
                       HoldEstimator estimator) {
        this.pass = pass;
        this.store = store;
        this.settler = settler;
        this.config = config;
        this.prices = prices;
        this.estimator = estimator;
    }

    void routes(@Observes Router router) {
        router.post(BASE).handler(this::create);
        router.get(BASE).handler(this::list);
        router.get(BASE + "/:id").handler(this::get);
        router.post(BASE + "/:id/cancel").handler(this::cancel);
        router.delete(BASE + "/:id").handler(this::delete);
        router.get(BASE + "/:id/results").handler(this::results);
    }

    /** What create admitted: the hold, the upstream, the body to send. */
    private record Admitted(AuthenticatedKey key, UUID hold, Upstream upstream, byte[] body, int requests, String models) {
    }

    private void create(RoutingContext ctx) {
        String requestId = RequestIds.of(ctx);
        BodyReader.read(ctx, config.maxBytes(), body -> pass.blocking(ctx, () -> admit(ctx, body, requestId),
                admitted -> pass.exchange(admitted.upstream(), HttpMethod.POST, BASE + Passthrough.query(ctx), ctx,
                                admitted.body())
                        .onSuccess(answer -> created(ctx, admitted, answer))
                        .onFailure(t -> {
                            // Unknown outcome after a send: the batch may exist upstream; it is not ours to bill without its id.
                            pass.gateway.blocking().execute(() -> store.release(admitted.hold(), "batch not created: " + t));
                            Passthrough.failed(ctx, t);
                        })));
    }

    /** Validates every request, checks ownership of what they name, and holds the batch's worst case. */
    private Admitted admit(RoutingContext ctx, byte[] body, String requestId) {
        AuthenticatedKey key = pass.authenticate(ctx);
        List<BatchRequests.Item> items = BatchRequests.parse(body, config.maxRequests());
        List<byte[]> bodies = new ArrayList<>(items.size());
        ObjectNode models = JSON.createObjectNode();
        long worst = 0;
        List<String> files = new ArrayList<>();
        List<String> skills = new ArrayList<>();
        var webSearch = prices.calculator().webSearchUsdPerRequest();
        for (BatchRequests.Item item : items) {
            PriceTable.Resolved model;
            try {
                model = pass.gateway.priced(pass.gateway.resolveModel(item.params().model(), key), key, true);
            } catch (ApiException e) {
                throw item.refuse(e);
            }
            if (item.params().fileIds() != null) {
                files.addAll(item.params().fileIds());
            }
            if (item.params().customSkillIds() != null) {
                skills.addAll(item.params().customSkillIds());
            }
            HoldEstimator.Bound bound = item.params().inputBound() == HoldEstimator.InputBound.BODY
                    ? estimator.cheapBound(model.charged(), item.params(), webSearch)
                    : estimator.contextWindowBound(model.charged(), item.params(), webSearch);
            worst = Math.addExact(worst, prices.calculator().batchBoundNanos(bound.nanos()));
            bodies.add(item.params().bodyWithModel(model.upstreamModel()));
            models.put(item.customId(), (item.params().onlyOneHourTtl() ? "1h:" : "") + model.price().id());
        }
        UUID pinned = owned(key, items, files, skills);
        Upstream upstream = pinned != null ? pass.upstreamOf(pinned) : pass.newResourceUpstream(key.accountId());
        UUID hold = UUID.randomUUID();
        Long available;
        try {
            available = store.hold(hold, key.accountId(), key.id(), requestId, items.get(0).params().model(), worst,
                    config.holdLease());
        } catch (LimitExceededException e) {
            throw Gateway.limitError(e);
        }
        if (available != null) {
            throw new ApiException(402, "billing_error", "Insufficient balance: this batch needs " + Money.format(worst)
                    + " USD held (the sum of its " + items.size() + " requests' worst cases at batch prices: max_tokens"
                    + " at the output price plus the input at most), and " + Money.format(Math.max(0, available))
                    + " USD is available. Top up the account, lower max_tokens or split the batch.");
        }
        try {
            return new Admitted(key, hold, upstream, BatchRequests.rewrite(body, items, bodies), items.size(),
                    models.toString());
        } catch (RuntimeException e) {
            store.release(hold, "batch not created");
            throw e;
        }
    }

    /**
     * One ownership check for every file and custom skill the batch's requests name; a refusal names
     * the first request that named the one not owned.
     */
    private UUID owned(AuthenticatedKey key, List<BatchRequests.Item> items, List<String> files, List<String> skills) {
        if (files.isEmpty() && skills.isEmpty()) {
            return null;
        }
        try {
            return pass.gateway.ownership.check(key.accountId(), files, skills);
        } catch (ApiException e) {
            for (BatchRequests.Item item : items) {
                List<String> named = new ArrayList<>();
                if (item.params().fileIds() != null) {
                    named.addAll(item.params().fileIds());
                }
                if (item.params().customSkillIds() != null) {
                    named.addAll(item.params().customSkillIds());
                }
                for (String id : named) {
                    if (e.getMessage().endsWith(": " + id)) {
                        throw item.refuse(e);
                    }
                }
            }
            throw e;
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
            byte[] out = forCustomer(ctx, batch);
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

    private void get(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        pass.blocking(ctx, () -> owned(ctx, id), row -> pass.exchange(pass.upstreamOf(row.upstreamId()), HttpMethod.GET,
                        BASE + "/" + id + Passthrough.query(ctx), ctx, null)
                .onSuccess(answer -> refreshed(ctx, row, answer))
                .onFailure(t -> Passthrough.failed(ctx, t)));
    }

    private void cancel(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        pass.blocking(ctx, () -> owned(ctx, id), row -> pass.exchange(pass.upstreamOf(row.upstreamId()), HttpMethod.POST,
                        BASE + "/" + id + "/cancel" + Passthrough.query(ctx), ctx, null)
                .onSuccess(answer -> refreshed(ctx, row, answer))
                .onFailure(t -> Passthrough.failed(ctx, t)));
    }

    /** Passes a batch object on (results_url pointing here) and keeps it as the row's snapshot. */
    private void refreshed(RoutingContext ctx, BatchStore.Row row, UpstreamClient.Answer answer) {
        if (!Passthrough.ok(answer.status())) {
            Passthrough.refuse(ctx, answer);
            return;
        }
        JsonNode batch;
        try {
            batch = JSON.readTree(answer.body().getBytes());
        } catch (IOException e) {
            Passthrough.respond(ctx, answer, answer.body());
            return;
        }
        Passthrough.respondJson(ctx, answer.status(), forCustomer(ctx, batch));
        JsonNode b = batch;
        pass.gateway.blocking().execute(() -> {
            try {
                store.snapshot(row.id(), b.toString(), b.path("processing_status").asText(row.processingStatus()));
            } catch (RuntimeException e) {
                Log.warnf("Could not keep batch %s's state: %s", row.id(), e.toString());
            }
        });
    }

    private void delete(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        pass.blocking(ctx, () -> {
            BatchStore.Row row = owned(ctx, id);
            if (row.settledAt() == null) {
                // Its results go with it: the batch is billed first, or not deleted.
                settler.poll(row);
                BatchStore.Row now = store.find(id);
                if (now.settledAt() == null) {
                    throw ApiException.invalidRequest("Message batch " + id + " is still being processed and cannot be"
                            + " deleted; cancel it first");
                }
            }
            return row;
        }, row -> pass.exchange(pass.upstreamOf(row.upstreamId()), HttpMethod.DELETE, BASE + "/" + id
                        + Passthrough.query(ctx), ctx, null)
                .onSuccess(answer -> {
                    if (!Passthrough.ok(answer.status())) {
                        Passthrough.refuse(ctx, answer);
                        return;
                    }
                    pass.gateway.blocking().execute(() -> {
                        store.markDeleted(id);
                        ctx.vertx().runOnContext(v -> Passthrough.respond(ctx, answer, answer.body()));
                    });
                })
                .onFailure(t -> Passthrough.failed(ctx, t)));
    }

    /** The upstream's JSONL, streamed through unchanged (never whole in memory). */
    private void results(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        pass.blocking(ctx, () -> owned(ctx, id), row -> {
            Upstream upstream = pass.upstreamOf(row.upstreamId());
            pass.download(ctx, upstream, resultsPath(row, upstream), "application/binary");
        });
    }

    /** The results' path on the batch's upstream: its results_url's path when it gave one on its own host. */
    static String resultsPath(BatchStore.Row row, Upstream upstream) {
        String fallback = BASE + "/" + row.id() + "/results";
        try {
            String url = JSON.readTree(row.snapshot()).path("results_url").asText(null);
            if (url == null) {
                return fallback;
            }
            URI uri = URI.create(url);
            String path = uri.getRawPath();
            if (uri.getHost() == null || !uri.getHost().equalsIgnoreCase(upstream.target().host()) || path == null) {
                return fallback;
            }
            String base = upstream.target().basePath();
            if (!base.isEmpty() && path.startsWith(base)) {
                path = path.substring(base.length());
            }
            return path + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        } catch (IOException | IllegalArgumentException e) {
            return fallback;
        }
    }

    private void list(RoutingContext ctx) {
        pass.blocking(ctx, () -> {
            AuthenticatedKey key = pass.authenticate(ctx);
            int limit = intParam(ctx, "limit", 20);
            if (limit < 1 || limit > 1000) {
                throw ApiException.invalidRequest("limit: Input should be between 1 and 1000");
            }
            String after = ctx.request().getParam("after_id");
            String before = ctx.request().getParam("before_id");
            List<BatchStore.Row> rows = store.page(key.accountId(), limit, after, before);
            boolean more = rows.size() > limit;
            if (more) {
                rows = before != null ? rows.subList(1, rows.size()) : rows.subList(0, limit);
            }
            ObjectNode page = JSON.createObjectNode();
            ArrayNode data = page.putArray("data");
            for (BatchStore.Row row : rows) {
                data.add(withResultsUrl(ctx, (ObjectNode) JSON.readTree(row.snapshot())));
            }
            page.put("has_more", more);
            page.put("first_id", rows.isEmpty() ? null : rows.get(0).id());
            page.put("last_id", rows.isEmpty() ? null : rows.get(rows.size() - 1).id());
            return JSON.writeValueAsBytes(page);
        }, page -> Passthrough.respondJson(ctx, 200, page));
    }

    private static int intParam(RoutingContext ctx, String name, int otherwise) {
        String v = ctx.request().getParam(name);
        if (v == null) {
            return otherwise;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw ApiException.invalidRequest(name + ": Input should be a valid integer");
        }
    }

    /** The account's batch, or 404 as if it did not exist (another account's included). */
    private BatchStore.Row owned(RoutingContext ctx, String id) {
        AuthenticatedKey key = pass.authenticate(ctx);
        BatchStore.Row row = store.find(id, key.accountId());
        if (row == null) {
            throw ApiException.notFound("Message batch " + id + " not found");
        }
        return row;
    }

    private byte[] forCustomer(RoutingContext ctx, JsonNode batch) {
        try {
            return JSON.writeValueAsBytes(batch instanceof ObjectNode o ? withResultsUrl(ctx, o.deepCopy()) : batch);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** results_url pointing at this gateway (the SDKs fetch it verbatim, with the customer's key). */
    private ObjectNode withResultsUrl(RoutingContext ctx, ObjectNode batch) {
        JsonNode url = batch.get("results_url");
        if (url != null && !url.isNull()) {
            batch.put("results_url", publicBase(ctx) + BASE + "/" + batch.path("id").asText() + "/results");
        }
        return batch;
    }

    private String publicBase(RoutingContext ctx) {
        if (config.publicBaseUrl().isPresent()) {
            String base = config.publicBaseUrl().get().trim();
            return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        }
        String proto = ctx.request().getHeader("x-forwarded-proto");
        String host = ctx.request().getHeader("x-forwarded-host");
        if (host == null) {
            host = ctx.request().getHeader("host");
        }
        String scheme = proto != null ? proto.split(",")[0].trim() : ctx.request().scheme();
        return scheme + "://" + (host != null ? host : "localhost");
    }

}
