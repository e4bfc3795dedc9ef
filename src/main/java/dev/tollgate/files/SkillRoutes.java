package dev.tollgate.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.api.ApiException;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.Upstream;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.io.IOException;
import java.util.Set;
import java.util.UUID;

/**
 * The Skills API ({@code /v1/skills}) passed through with the ownership rule of files: a custom
 * skill belongs to the account that created it (another gets 404, and cannot name it in a
 * request's container.skills); Anthropic's pre-built skills are readable and usable by everyone.
 * Uploads (skill creation, new versions) are streamed like file uploads.
 */
@ApplicationScoped
public class SkillRoutes {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_UPLOAD = 64L * 1024 * 1024;

    private final Passthrough pass;
    private final FileStore store;

    public SkillRoutes(Passthrough pass, FileStore store) {
        this.pass = pass;
        this.store = store;
    }

    void routes(@Observes Router router) {
        router.post("/v1/skills").handler(this::create);
        router.get("/v1/skills").handler(this::list);
        router.route("/v1/skills/:id").handler(this::one);
        router.route("/v1/skills/:id/*").handler(this::one);
    }

    private record Target(AuthenticatedKey key, Upstream upstream, boolean owned) {
    }

    private void create(RoutingContext ctx) {
        ctx.request().pause();
        pass.blocking(ctx, () -> {
            AuthenticatedKey key = pass.authenticate(ctx);
            return new Target(key, pass.newResourceUpstream(key.accountId()), true);
        }, t -> StreamingUpload.send(pass.client, t.upstream(), HttpMethod.POST, "/v1/skills" + Passthrough.query(ctx), ctx,
                        MAX_UPLOAD)
                .onFailure(e -> Passthrough.failed(ctx, e))
                .onSuccess(answer -> {
                    if (!Passthrough.ok(answer.status())) {
                        Passthrough.refuse(ctx, answer);
                        return;
                    }
                    pass.gateway.blocking().execute(() -> {
                        try {
                            String id = JSON.readTree(answer.body().getBytes()).path("id").asText(null);
                            if (id != null) {
                                store.insertSkill(id, t.key().accountId(), t.key().id(), t.upstream().id());
                            }
                        } catch (IOException | RuntimeException e) {
                            io.quarkus.logging.Log.errorf(e, "Recording a created skill failed");
                        }
                        ctx.vertx().runOnContext(v -> Passthrough.respond(ctx, answer, answer.body()));
                    });
                }));
    }

    /** The upstream's list with only Anthropic's skills and the account's own custom ones. */
    private void list(RoutingContext ctx) {
        pass.blocking(ctx, () -> {
            AuthenticatedKey key = pass.authenticate(ctx);
            return new Target(key, pass.newResourceUpstream(key.accountId()), false);
        }, t -> pass.exchange(t.upstream(), HttpMethod.GET, "/v1/skills" + Passthrough.query(ctx), ctx, null)
                .onFailure(e -> Passthrough.failed(ctx, e))
                .onSuccess(answer -> {
                    if (!Passthrough.ok(answer.status())) {
                        Passthrough.refuse(ctx, answer);
                        return;
                    }
                    pass.blocking(ctx, () -> {
                        Set<String> own = store.skillIds(t.key().accountId());
                        JsonNode page = JSON.readTree(answer.body().getBytes());
                        if (page instanceof ObjectNode o && page.path("data").isArray()) {
                            ArrayNode kept = JSON.createArrayNode();
                            for (JsonNode skill : page.path("data")) {
                                if (!"custom".equals(skill.path("source").asText()) || own.contains(skill.path("id").asText())) {
                                    kept.add(skill);
                                }
                            }
                            o.set("data", kept);
                        }
                        return JSON.writeValueAsBytes(page);
                    }, body -> Passthrough.respond(ctx, answer, Buffer.buffer(body)));
                }));
    }

    /** One skill or its versions: the account's own custom skill, or a pre-built one (read only). */
    private void one(RoutingContext ctx) {
        String id = ctx.pathParam("id");
        HttpMethod method = ctx.request().method();
        boolean upload = method == HttpMethod.POST;
        if (upload) {
            ctx.request().pause();
        }
        pass.blocking(ctx, () -> {
            AuthenticatedKey key = pass.authenticate(ctx);
            FileStore.Row row = store.skill(id, key.accountId());
            if (row != null) {
                return new Target(key, pass.upstreamOf(row.upstreamId()), true);
            }
            if (method == HttpMethod.GET && !id.startsWith("skill_")) {
                return new Target(key, pass.newResourceUpstream(key.accountId()), false); // Anthropic's pre-built skill
            }
            throw ApiException.notFound("Skill not found: " + id);
        }, t -> {
            String path = ctx.request().path() + Passthrough.query(ctx);
            var exchange = upload ? StreamingUpload.send(pass.client, t.upstream(), method, path, ctx, MAX_UPLOAD)
                    : pass.exchange(t.upstream(), method, path, ctx, null);
            exchange.onFailure(e -> Passthrough.failed(ctx, e)).onSuccess(answer -> answered(ctx, t, id, method, answer));
        });
    }

    private void answered(RoutingContext ctx, Target t, String id, HttpMethod method, UpstreamClient.Answer answer) {
        if (!Passthrough.ok(answer.status())) {
            Passthrough.refuse(ctx, answer);
            return;
        }
        boolean skillDeleted = method == HttpMethod.DELETE && ctx.request().path().equals("/v1/skills/" + id);
        if (!skillDeleted) {
            Passthrough.respond(ctx, answer, answer.body());
            return;
        }
        UUID account = t.key().accountId();
        pass.gateway.blocking().execute(() -> {
            store.deleteSkill(id, account, t.key().id());
            ctx.vertx().runOnContext(v -> Passthrough.respond(ctx, answer, answer.body()));
        });
    }
}
