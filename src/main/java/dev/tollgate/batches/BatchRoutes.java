package dev.tollgate.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.files.Passthrough;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.Upstream;
import io.quarkus.logging.Log;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.net.URI;
import java.util.List;

import static dev.tollgate.batches.BatchView.BASE;
import static dev.tollgate.batches.BatchView.JSON;

/**
 * Message Batches ({@code /v1/messages/batches}), each batch its account's own: created on an
 * Anthropic-kind upstream after every request is validated like a Messages call and the batch's
 * worst case at batch prices is held; read, listed, cancelled, deleted and its results streamed
 * only by its account (another account gets 404). {@link BatchCreation} admits and creates a batch;
 * {@link BatchSettler} bills it once it has ended.
 */
@ApplicationScoped
public class BatchRoutes {

    private final Passthrough pass;
    private final BatchStore store;
    private final BatchSettler settler;
    private final BatchCreation creation;
    private final BatchView view;

    public BatchRoutes(Passthrough pass, BatchStore store, BatchSettler settler, BatchCreation creation, BatchView view) {
        this.pass = pass;
        this.store = store;
        this.settler = settler;
        this.creation = creation;
        this.view = view;
    }

    void routes(@Observes Router router) {
        router.post(BASE).handler(creation::create);
        router.get(BASE).handler(this::list);
        router.get(BASE + "/:id").handler(this::get);
        router.post(BASE + "/:id/cancel").handler(this::cancel);
        router.delete(BASE + "/:id").handler(this::delete);
        router.get(BASE + "/:id/results").handler(this::results);
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
        Passthrough.respondJson(ctx, answer.status(), view.forCustomer(ctx, batch));
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
                data.add(view.withResultsUrl(ctx, (ObjectNode) JSON.readTree(row.snapshot())));
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
}
