package dev.tollgate.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.api.BodyReader;
import dev.tollgate.api.ErrorResponder;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.upstream.pool.Upstream;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * The Files API ({@code /v1/files}), each file its account's own: uploads are streamed to an
 * Anthropic-kind upstream within the account's quotas and recorded (and audited) here; metadata,
 * content and delete reach the upstream only for the file's own account (another gets 404); the
 * list is the account's own files, from our records.
 */
@ApplicationScoped
public class FileRoutes {

    static final ObjectMapper JSON = new ObjectMapper();
    /** Room for the multipart envelope around a file of the largest size. */
    private static final long ENVELOPE_BYTES = 1024 * 1024;

    private final Passthrough pass;
    private final FileStore store;
    private final FilesConfig config;

    public FileRoutes(Passthrough pass, FileStore store, FilesConfig config) {
        this.pass = pass;
        this.store = store;
        this.config = config;
    }

    void routes(@Observes Router router) {
        router.post("/v1/files").handler(this::upload);
        router.get("/v1/files").handler(this::list);
        router.get("/v1/files/:id").handler(this::metadata);
        router.get("/v1/files/:id/content").handler(this::content);
        router.delete("/v1/files/:id").handler(this::delete);
    }

    private record Upload(AuthenticatedKey key, UUID reservation, long limit, boolean quotaBound, Upstream upstream) {
    }

    private void upload(RoutingContext ctx) {
        ctx.request().pause();
        long max = config.maxFileBytes() + ENVELOPE_BYTES;
        String type = ctx.request().getHeader("content-type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            ErrorResponder.send(ctx, ApiException.invalidRequest("A file upload is multipart/form-data with a part named file"));
            return;
        }
        long declared = BodyReader.declaredLength(ctx.request());
        if (declared > max) {
            tooLarge(ctx, ApiException.tooLarge("File exceeds the maximum size of " + config.maxFileBytes() + " bytes"));
            return;
        }
        pass.blocking(ctx, () -> {
            AuthenticatedKey key = pass.authenticate(ctx);
            Upstream upstream = pass.newResourceUpstream(key.accountId());
            // A declared length is reserved (less the multipart envelope, at most 1 KiB for one file part);
            // an upload of unknown length reserves nothing and is stopped where the quota ends.
            long reserve = declared >= 0 ? Math.min(Math.max(0, declared - 1024), config.maxFileBytes()) : 0;
            FileStore.Reservation r = store.reserveUpload(key.accountId(), reserve);
            long quotaLimit = reserve + r.remainingBytes() + 1024;
            return new Upload(key, r.id(), Math.min(max, quotaLimit), quotaLimit < max, upstream);
        }, up -> StreamingUpload.send(pass.client, up.upstream(), HttpMethod.POST, "/v1/files" + Passthrough.query(ctx), ctx,
                        up.limit())
                .onComplete(ar -> pass.gateway.blocking().execute(() -> {
                    String fileId = null;
                    try {
                        JsonNode file = null;
                        if (ar.succeeded() && Passthrough.ok(ar.result().status())) {
                            file = JSON.readTree(ar.result().body().getBytes());
                            fileId = file.path("id").asText(null);
                        }
                        store.endUpload(up.reservation(), fileId, up.key().accountId(), up.key().id(), up.upstream().id(),
                                file == null ? 0 : file.path("size_bytes").asLong(0), file == null ? null : file.toString(),
                                file == null ? null : file.path("filename").asText(null));
                    } catch (IOException | RuntimeException e) {
                        io.quarkus.logging.Log.errorf(e, "Recording an uploaded file failed");
                    }
                    ctx.vertx().runOnContext(v -> {
                        if (ar.failed()) {
                            if (ar.cause() instanceof ApiException api && api.status() == 413) {
                                tooLarge(ctx, up.quotaBound() ? ApiException.permission("File storage quota reached:"
                                        + " this upload is larger than what the account may still store; delete some files first")
                                        : api);
                            } else {
                                Passthrough.failed(ctx, ar.cause());
                            }
                        } else if (!Passthrough.ok(ar.result().status())) {
                            Passthrough.refuse(ctx, ar.result());
                        } else {
                            Passthrough.respond(ctx, ar.result(), ar.result().body());
                        }
                    });
                })));
    }

    private static void tooLarge(RoutingContext ctx, ApiException e) {
        ctx.response().putHeader("connection", "close");
        ctx.response().endHandler(v -> ctx.request().connection().close());
        ErrorResponder.send(ctx, e);
    }

    /** The account's files, newest first, paged like the API: after_id / before_id / limit, or page (next_page). */
    private void list(RoutingContext ctx) {
        pass.blocking(ctx, () -> {
            AuthenticatedKey key = pass.authenticate(ctx);
            int limit = 20;
            String l = ctx.request().getParam("limit");
            if (l != null) {
                try {
                    limit = Integer.parseInt(l);
                } catch (NumberFormatException e) {
                    throw ApiException.invalidRequest("limit: Input should be a valid integer");
                }
            }
            if (limit < 1 || limit > 1000) {
                throw ApiException.invalidRequest("limit: Input should be between 1 and 1000");
            }
            String after = ctx.request().getParam("after_id");
            String before = ctx.request().getParam("before_id");
            String page = ctx.request().getParam("page");
            if (page != null && page.startsWith("page_")) {
                try {
                    after = new String(Base64.getUrlDecoder().decode(page.substring(5)), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw ApiException.invalidRequest("page: not a page cursor from this API");
                }
            }
            List<FileStore.Row> rows = store.files(key.accountId(), limit, after, before);
            boolean more = rows.size() > limit;
            if (more) {
                rows = before != null ? rows.subList(1, rows.size()) : rows.subList(0, limit);
            }
            ObjectNode out = JSON.createObjectNode();
            ArrayNode data = out.putArray("data");
            for (FileStore.Row r : rows) {
                data.add(JSON.readTree(r.snapshot()));
            }
            String first = rows.isEmpty() ? null : rows.get(0).id();
            String last = rows.isEmpty() ? null : rows.get(rows.size() - 1).id();
            out.put("has_more", more);
            out.put("first_id", first);
            out.put("last_id", last);
            out.put("next_page", more && before == null ? "page_" + Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(last.getBytes(StandardCharsets.UTF_8)) : null);
            return JSON.writeValueAsBytes(out);
        }, body -> Passthrough.respondJson(ctx, 200, body));
    }

    private record Owned(AuthenticatedKey key, FileStore.Row row) {
    }

    private Owned owned(RoutingContext ctx) {
        AuthenticatedKey key = pass.authenticate(ctx);
        String id = ctx.pathParam("id");
        FileStore.Row row = store.file(id, key.accountId());
        if (row == null) {
            throw ApiException.notFound("File not found: " + id);
        }
        return new Owned(key, row);
    }

    private void metadata(RoutingContext ctx) {
        pass.blocking(ctx, () -> owned(ctx), o -> pass.exchange(pass.upstreamOf(o.row().upstreamId()), HttpMethod.GET,
                        "/v1/files/" + o.row().id() + Passthrough.query(ctx), ctx, null)
                .onSuccess(answer -> {
                    if (!Passthrough.ok(answer.status())) {
                        Passthrough.refuse(ctx, answer);
                        return;
                    }
                    Passthrough.respond(ctx, answer, answer.body());
                    pass.gateway.blocking().execute(() -> {
                        try {
                            store.fileSnapshot(o.row().id(), JSON.readTree(answer.body().getBytes()).toString());
                        } catch (IOException | RuntimeException ignored) {
                            // the list keeps the object it had
                        }
                    });
                })
                .onFailure(t -> Passthrough.failed(ctx, t)));
    }

    /** The file's bytes, streamed through (only files the code execution tool or skills made are downloadable). */
    private void content(RoutingContext ctx) {
        pass.blocking(ctx, () -> owned(ctx), o -> pass.download(ctx, pass.upstreamOf(o.row().upstreamId()),
                "/v1/files/" + o.row().id() + "/content" + Passthrough.query(ctx), "application/octet-stream"));
    }

    private void delete(RoutingContext ctx) {
        pass.blocking(ctx, () -> owned(ctx), o -> pass.exchange(pass.upstreamOf(o.row().upstreamId()), HttpMethod.DELETE,
                        "/v1/files/" + o.row().id() + Passthrough.query(ctx), ctx, null)
                .onSuccess(answer -> {
                    if (!Passthrough.ok(answer.status()) && answer.status() != 404) {
                        Passthrough.refuse(ctx, answer);
                        return;
                    }
                    // Gone upstream either way: our record (and the quota it takes) goes too.
                    pass.gateway.blocking().execute(() -> {
                        store.deleteFile(o.row().id(), o.key().accountId(), o.key().id());
                        ctx.vertx().runOnContext(v -> {
                            if (Passthrough.ok(answer.status())) {
                                Passthrough.respond(ctx, answer, answer.body());
                            } else {
                                Passthrough.refuse(ctx, answer);
                            }
                        });
                    });
                })
                .onFailure(t -> Passthrough.failed(ctx, t)));
    }
}
