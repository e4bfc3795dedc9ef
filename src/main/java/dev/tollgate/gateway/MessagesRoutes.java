package dev.tollgate.gateway;

import dev.tollgate.api.ApiException;
import dev.tollgate.api.BodyReader;
import dev.tollgate.api.ErrorResponder;
import dev.tollgate.api.RequestIds;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.openai.OpenAiSurface;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamRefusals;
import dev.tollgate.upstream.pool.UpstreamAttempts;
import io.quarkus.logging.Log;
import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * The metered endpoints, on Vert.x directly so bytes flow through without a framework re-encoding
 * them: POST /v1/messages (metered), POST /v1/messages/count_tokens (free) and the OpenAI-compatible
 * POST /v1/chat/completions (metered by the same relay; one {@link OpenAiSurface} per call, as it
 * keeps the call's stream options).
 */
@ApplicationScoped
public class MessagesRoutes {

    private final Gateway gateway;
    private final AnthropicSurface surface = new AnthropicSurface();

    public MessagesRoutes(Gateway gateway) {
        this.gateway = gateway;
    }

    /** Every request and response carries our own request id, errors from any layer included. */
    void requestIds(@Observes Filters filters) {
        filters.register(ctx -> {
            String id = RequestIds.newId();
            ctx.put(RequestIds.CONTEXT_KEY, id);
            ctx.response().putHeader(RequestIds.HEADER, id);
            ctx.next();
        }, 1000);
    }

    void routes(@Observes Router router) {
        router.post("/v1/messages").handler(ctx -> RelayCall.start(gateway, ctx, surface));
        router.post("/v1/messages/count_tokens").handler(this::countTokens);
        router.post("/v1/chat/completions").handler(ctx -> RelayCall.start(gateway, ctx, new OpenAiSurface()));
    }

    private void countTokens(RoutingContext ctx) {
        Context context = Vertx.currentContext();
        BodyReader.read(ctx, gateway.config.maxRequestBytes(), body -> gateway.blocking().execute(() -> {
            byte[] upstreamBody;
            UpstreamAttempts route;
            String modelId;
            try {
                AuthenticatedKey key = gateway.authenticate(ctx.request());
                MessagesRequest request = MessagesRequest.parse(body, false);
                PriceTable.Resolved model = gateway.resolveModel(request.model(), key);
                java.util.UUID pinned = request.namesStoredResources()
                        ? gateway.ownership.check(key.accountId(), request.fileIds(), request.customSkillIds(),
                        request.containerIds()) : null;
                upstreamBody = request.bodyWithModel(model.upstreamModel());
                modelId = model.price().id();
                route = pinned != null ? gateway.pool.routePinned(pinned, model.price().id())
                        : gateway.pool.route(model.price().id(), Gateway.stickinessKey(key, request));
                if (!route.advance()) {
                    throw route.unavailable();
                }
            } catch (ApiException e) {
                context.runOnContext(v -> ErrorResponder.send(ctx, e));
                return;
            }
            context.runOnContext(v -> forwardCount(ctx, modelId, upstreamBody, route));
        }));
    }

    /** To the first upstream that takes the call (by its kind's dialect); free, so a failure is reported rather than retried. */
    private void forwardCount(RoutingContext ctx, String modelId, byte[] body, UpstreamAttempts route) {
        route.current().dialect().countTokens(gateway.upstream, modelId, body, ctx.request().headers(), ctx.request().query())
                .onComplete(ar -> route.release())
                .onSuccess(answer -> {
                    if (answer.status() != 200) {
                        ErrorResponder.send(ctx, UpstreamRefusals.refusal(answer.status(), answer.headers(), answer.body()));
                    } else if (!ctx.response().closed()) {
                        String type = answer.headers().get("content-type");
                        ctx.response().putHeader("content-type", type != null ? type : "application/json").end(answer.body());
                    }
                })
                .onFailure(t -> {
                    Log.warnf("count_tokens upstream call to %s failed: %s", route.current().name(), t.toString());
                    ErrorResponder.send(ctx, UpstreamClient.classify(t));
                });
    }
}
