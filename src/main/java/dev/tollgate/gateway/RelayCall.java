package dev.tollgate.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.api.ApiException;
import dev.tollgate.api.BodyReader;
import dev.tollgate.api.RequestIds;
import dev.tollgate.files.CallOutputs;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.ledger.Hold;
import dev.tollgate.ledger.LedgerStore;
import dev.tollgate.limits.RateWindow;
import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.CallRecord.Status;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.metering.SseUsageScanner;
import dev.tollgate.metering.TokenUsage;
import dev.tollgate.metering.UsageAccumulator;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamExchange;
import dev.tollgate.upstream.UpstreamRefusals;
import dev.tollgate.upstream.UpstreamResponse;
import dev.tollgate.upstream.UpstreamWatch;
import dev.tollgate.upstream.pool.Upstream;
import dev.tollgate.upstream.pool.UpstreamAttempts;
import io.quarkus.logging.Log;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * One metered call, from the client's bytes to the settled ledger:
 * <pre>
 *   read body ─► [event loop] key cached, account has a reserve here: parse, resolve model, hold
 *             │                 the worst case from the reserve in memory
 *             └► [virtual thread] otherwise: authenticate, parse, resolve model, hold worst case
 *             ─► [event loop] send upstream ─► JSON: read, meter, settle, respond
 *                                           └► SSE: pass bytes through as they come, meter them
 *                                                   with a scanner, settle, end the response
 * </pre>
 * The settlement is queued when the call ends; the response goes out at once, or after the
 * settlement commits where nothing may run after a response (Lambda, or when configured).
 *
 * <p>Stream cuts. An upstream `error` event or broken connection: input and the output produced
 * so far are billed (the last cumulative count, or one token per non-empty delta when none came).
 * A client that disconnects: the upstream is stopped as soon as message_start has fixed the input
 * count, and what it produced is billed the same way; the customer never pays for tokens generated
 * for nobody, and a call is never recorded at zero once the upstream has counted its input. A
 * non-streaming call whose client leaves is left to finish, because only its final usage says
 * what it cost (recorded client_disconnected); one whose client left before it was sent is not
 * sent at all. Timeouts: a stream silent for the idle timeout is cut like a broken connection; a
 * JSON answer not complete within the response timeout is a 504 billed at nothing, since no usage
 * came back to bill.
 */
final class RelayCall {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Larger bodies are parsed off the event loop, where their parsing holds up no other connection. */
    private static final int IN_MEMORY_MAX_BODY = 64 * 1024;
    /** Recorded for a call whose client left before it was sent (nginx's "client closed request"). */
    private static final int CLIENT_CLOSED_REQUEST = 499;

    private final Gateway gateway;
    private final RoutingContext ctx;
    private final Surface surface;
    private final Context context;
    private final String requestId;
    private final long startNanos = System.nanoTime();

    private AuthenticatedKey key;
    private PriceTable.Resolved model;
    private MessagesRequest request;
    private byte[] upstreamBody;
    private Hold hold;
    private UpstreamAttempts route;
    /** The upstream storing the files the request names (null: any may serve it). */
    private java.util.UUID pinnedUpstream;
    private UpstreamExchange upstreamRequest;
    private String upstreamRequestId;
    private SseUsageScanner scanner;
    /** Only for calls that run code execution: the files and container its response names. */
    private CallOutputs outputs;
    private boolean streaming;
    private boolean clientGone;
    private boolean upstreamAborted;
    private boolean finished;
    /** The response deadline of a JSON call, or the silence allowed between a stream's chunks. */
    private UpstreamWatch watch;

    private RelayCall(Gateway gateway, RoutingContext ctx, Surface surface) {
        this.gateway = gateway;
        this.ctx = ctx;
        this.surface = surface;
        this.context = Vertx.currentContext();
        this.requestId = RequestIds.of(ctx);
    }

    static void start(Gateway gateway, RoutingContext ctx, Surface surface) {
        RelayCall call = new RelayCall(gateway, ctx, surface);
        BodyReader.read(ctx, gateway.config.maxRequestBytes(), surface::sendError, call::admit);
    }

    /**
     * On the event loop. The common call, whose key is cached and whose account has a reserve on
     * this instance, is admitted from memory and sent upstream at once; any other needs the
     * database and is prepared on a virtual thread. This saves the common call two thread
     * hand-offs, which on a busy core cost more than the work itself.
     */
    private void admit(byte[] body) {
        if (ctx.response().closed()) {
            return; // the client left while its body was read: nothing to hold, send or record
        }
        if (body.length <= IN_MEMORY_MAX_BODY && gateway.ledger.reservesEnabled()) {
            try {
                AuthenticatedKey cached = gateway.authenticateCached(ctx.request());
                if (cached != null && prepare(body, cached, true)) {
                    forward();
                    return;
                }
            } catch (ApiException e) {
                surface.sendError(ctx, e);
                return;
            } catch (RuntimeException e) {
                failedBeforeUpstream(e);
                return;
            }
        }
        gateway.blocking().execute(() -> prepareBlocking(body));
    }

    /** On a virtual thread: everything that must happen before a cent can be spent upstream. */
    private void prepareBlocking(byte[] body) {
        if (ctx.response().closed()) {
            return; // the client left while its body was read: nothing to hold, send or record
        }
        try {
            prepare(body, gateway.authenticate(ctx.request()), false);
        } catch (ApiException e) {
            context.runOnContext(v -> surface.sendError(ctx, e));
            return;
        } catch (RuntimeException e) {
            context.runOnContext(v -> failedBeforeUpstream(e));
            return;
        }
        context.runOnContext(v -> forward());
    }

    /**
     * Parses the request, resolves its model and holds its worst case; {@code inMemoryOnly}: only
     * from the account's reserve, returning false (nothing held) when that would need the database.
     */
    private boolean prepare(byte[] body, AuthenticatedKey key, boolean inMemoryOnly) {
        this.key = key;
        request = surface.parse(body, gateway.priceLookup());
        model = gateway.priced(gateway.resolveModel(request.model(), key), key, !inMemoryOnly);
        if (model == null) {
            return false; // the account's plan is new here: read it on a thread that may block
        }
        if (request.namesStoredResources()) {
            if (inMemoryOnly) {
                return false; // ownership is a database lookup
            }
            pinnedUpstream = gateway.ownership.check(key.accountId(), request.fileIds(), request.customSkillIds(),
                    request.containerIds());
        }
        byte[] withModel = request.bodyWithModel(model.upstreamModel());
        Gateway.Admitted admitted = inMemoryOnly ? gateway.admitInMemory(key, model, request, withModel)
                : gateway.hold(key, model, request, withModel, ctx.request().headers(),
                        new LedgerStore.CallInfo(requestId, key.id(), model.price().id(), surface.endpoint(),
                                request.stream()));
        if (admitted == null) {
            return false;
        }
        hold = admitted.hold();
        request = admitted.request();
        outputs = request.mayCreateFiles() ? new CallOutputs() : null;
        upstreamBody = admitted.upstreamBody();
        rateHeaders(admitted);
        return true;
    }

    private void failedBeforeUpstream(RuntimeException e) {
        Log.errorf(e, "Request %s failed before reaching upstream", requestId);
        surface.sendError(ctx, new ApiException(500, "api_error",
                "Internal error before the call was sent; nothing was charged"));
    }

    /** The key's anthropic-ratelimit-* headers (only for limits it has) and any max_tokens fitting. */
    private void rateHeaders(Gateway.Admitted admitted) {
        var headers = ctx.response().headers();
        if (admitted.loweredMaxTokens() != null) {
            headers.set("tollgate-max-tokens-lowered-to", admitted.loweredMaxTokens().toString());
        }
        RateWindow window = admitted.keyWindow();
        if (window == null) {
            return;
        }
        java.time.Instant now = java.time.Instant.now();
        String reset = window.reset().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
        if (key.requestsPerMinute() != null) {
            headers.set("anthropic-ratelimit-requests-limit", key.requestsPerMinute().toString());
            headers.set("anthropic-ratelimit-requests-remaining",
                    Long.toString(Math.max(0, key.requestsPerMinute() - window.requestsUsed(now))));
            headers.set("anthropic-ratelimit-requests-reset", reset);
        }
        if (key.tokensPerMinute() != null) {
            headers.set("anthropic-ratelimit-tokens-limit", key.tokensPerMinute().toString());
            headers.set("anthropic-ratelimit-tokens-remaining",
                    Long.toString(Math.max(0, key.tokensPerMinute() - window.tokensUsed(now))));
            headers.set("anthropic-ratelimit-tokens-reset", reset);
        }
    }

    private void forward() {
        if (ctx.response().closed()) {
            // Gone while the call was being prepared: a close handler set now would never run.
            notSent();
            return;
        }
        ctx.response().closeHandler(v -> onClientGone());
        if (!request.stream()) {
            // The whole exchange, body included (every attempt): Vert.x's own timeout ends at the response head.
            watch = UpstreamWatch.start(context.owner(), gateway.config.upstream().responseTimeout(),
                    this::onResponseTimeout);
        }
        route = pinnedUpstream != null ? gateway.pool.routePinned(pinnedUpstream, model.price().id())
                : gateway.pool.route(model.price().id(), Gateway.stickinessKey(key, request));
        if (!route.advance()) {
            ApiException error = route.unavailable();
            end(Status.UPSTREAM_ERROR, TokenUsage.NONE, error.status(), () -> surface.sendError(ctx, error));
            return;
        }
        attempt();
    }

    /**
     * One attempt on the route's current upstream, opened by its kind's dialect (Anthropic's API,
     * Bedrock, Vertex: all answer in Anthropic's format). A failed attempt moves to the next upstream
     * only while nothing reached the client and the model provably did not run (see UpstreamAttempts).
     */
    private void attempt() {
        route.current().dialect().open(gateway.upstream, model.price().id(), ctx.request().query(),
                        ctx.request().headers(), request.stream())
                .onFailure(failure -> {
                    if (finished) {
                        return;
                    }
                    // No connection was made, so nothing was sent.
                    route.connectFailed(failure);
                    if (!clientGone && route.advance()) {
                        attempt();
                    } else {
                        upstreamFailed(failure);
                    }
                })
                .onSuccess(req -> {
                    upstreamRequest = req;
                    if (clientGone) {
                        notSent();
                    }
                    if (finished) {
                        req.reset();
                        return;
                    }
                    req.send(upstreamBody)
                            .onSuccess(this::onUpstreamResponse)
                            .onFailure(failure -> {
                                if (finished) {
                                    return;
                                }
                                route.failedAfterSend();
                                upstreamFailed(failure);
                            });
                });
    }

    private void upstreamFailed(Throwable failure) {
        ApiException error = UpstreamClient.classify(failure);
        if (!(failure instanceof ApiException)) {
            Log.warnf("Upstream call of %s to %s failed: %s", requestId, route.current().name(), failure.toString());
        }
        end(Status.UPSTREAM_ERROR, TokenUsage.NONE, error.status(), () -> surface.sendError(ctx, error));
    }

    /** The client left before the call went upstream: nothing was spent, the hold is released. */
    private void notSent() {
        clientGone = true;
        end(Status.CLIENT_DISCONNECTED, TokenUsage.NONE, CLIENT_CLOSED_REQUEST, () -> { });
    }

    private void onResponseTimeout() {
        if (finished) {
            return;
        }
        // The upstream may have run the model, but no usage came back to bill: a 504 at no charge.
        ApiException error = ApiException.upstreamTimeout("The upstream Claude API did not answer in time");
        end(Status.UPSTREAM_ERROR, TokenUsage.NONE, error.status(), () -> surface.sendError(ctx, error));
        abortUpstream();
    }

    private void onUpstreamResponse(UpstreamResponse response) {
        upstreamRequestId = response.requestId();
        int status = response.status();
        if (status != 200) {
            response.body().onComplete(ar -> onUpstreamError(response, ar.succeeded() ? ar.result() : null));
            return;
        }
        route.answered();
        String contentType = response.contentType();
        if (contentType != null && contentType.startsWith("text/event-stream")) {
            relayStream(response, contentType);
        } else {
            response.body().onComplete(ar -> {
                if (ar.failed()) {
                    ApiException error = UpstreamClient.classify(ar.cause());
                    end(Status.UPSTREAM_ERROR, TokenUsage.NONE, error.status(), () -> surface.sendError(ctx, error));
                } else {
                    onMessage(ar.result());
                }
            });
        }
    }

    /** An error answer, before anything reached the client: the next upstream, or the answer passed on. */
    private void onUpstreamError(UpstreamResponse response, Buffer body) {
        if (finished) {
            return;
        }
        int status = response.status();
        UpstreamAttempts.Rejection rejection = route.rejected(status, response.headers(), body);
        if (rejection != UpstreamAttempts.Rejection.FINAL && !clientGone && route.advance()) {
            attempt();
            return;
        }
        if (rejection == UpstreamAttempts.Rejection.CREDENTIAL) {
            // The operator's credential or upstream account is at fault, not the customer's: its
            // 401 would tell them their own key is invalid, and its message is the operator's business.
            end(Status.UPSTREAM_ERROR, TokenUsage.NONE, 502, () -> surface.sendError(ctx, ApiException.upstreamUnavailable(
                    "The upstream Claude API rejected the gateway's credentials; the operator must fix them")));
            return;
        }
        MultiMap headers = response.headers();
        Long retryAfter = rejection == UpstreamAttempts.Rejection.RETRY ? route.soonestRetryAfterSeconds() : null;
        if (retryAfter != null) {
            headers = MultiMap.caseInsensitiveMultiMap().addAll(headers).set("retry-after", retryAfter.toString());
        }
        ApiException refusal = UpstreamRefusals.refusal(status, headers, body);
        end(Status.UPSTREAM_ERROR, TokenUsage.NONE, refusal.status(), () -> surface.sendError(ctx, refusal));
    }

    private void onMessage(Buffer body) {
        UsageAccumulator usage = new UsageAccumulator();
        try {
            usage.applyMessageUsage(UsageAccumulator.readMessageUsage(JSON, body.getBytes()));
            if (outputs != null) {
                outputs.message(body.getBytes());
            }
        } catch (IOException e) {
            Log.errorf("Upstream answered %s with a body that is not JSON; recording no usage", requestId);
        }
        if (!usage.reported()) {
            Log.errorf("Upstream answered %s without usage; nothing could be metered", requestId);
        }
        // A client that left is still billed: the model ran for it, and only now is its cost known.
        end(clientGone ? Status.CLIENT_DISCONNECTED : Status.OK, usage.toTokenUsage(request.onlyOneHourTtl()), 200,
                () -> surface.sendMessage(ctx, body));
    }

    private void relayStream(UpstreamResponse upstream, String contentType) {
        streaming = true;
        scanner = new SseUsageScanner();
        HttpServerResponse out = ctx.response();
        Surface.StreamWriter writer = clientGone ? null : surface.openStream(ctx, contentType);
        if (watch != null) {
            watch.stop();
        }
        watch = UpstreamWatch.start(context.owner(), gateway.config.upstream().streamIdleTimeout(), () -> {
            streamEnded(writer, ApiException.upstreamTimeout("The upstream stream went silent"));
            abortUpstream();
        });
        upstream.handler(chunk -> {
            watch.progress();
            byte[] bytes = chunk.getBytes();
            scanner.feed(bytes, 0, bytes.length);
            if (outputs != null) {
                outputs.feed(bytes, 0, bytes.length);
            }
            if (clientGone) {
                if (scanner.sawMessageStart()) {
                    abortUpstream();
                }
                return;
            }
            writer.write(chunk);
            if (out.writeQueueFull()) {
                // The client reads slowly: the upstream waits, and its silence meanwhile is ours.
                upstream.pause();
                watch.suspend();
                out.drainHandler(v -> {
                    watch.resume();
                    upstream.resume();
                });
            }
        });
        upstream.exceptionHandler(t -> streamEnded(writer, t));
        upstream.endHandler(v -> streamEnded(writer, null));
    }

    private void streamEnded(Surface.StreamWriter writer, Throwable failure) {
        if (finished) {
            return;
        }
        Status status;
        if (clientGone) {
            status = Status.CLIENT_DISCONNECTED;
        } else if (failure != null || scanner.error() != null || !scanner.sawMessageStop()) {
            status = Status.STREAM_ERROR;
        } else {
            status = Status.OK;
        }
        UsageAccumulator usage = scanner.usage();
        if (status != Status.OK) {
            usage.cutShort(scanner.contentDeltas());
        }
        TokenUsage billed = scanner.sawMessageStart() ? usage.toTokenUsage(request.onlyOneHourTtl()) : TokenUsage.NONE;
        end(status, billed, 200, () -> {
            if (writer == null || ctx.response().closed()) {
                return;
            }
            if (status == Status.STREAM_ERROR && scanner.error() == null) {
                writer.writeCutNotice(failure != null && UpstreamClient.classify(failure).status() == 504
                        ? "The upstream stream went silent for too long and was closed"
                        : "The upstream connection was lost mid-stream");
            }
            writer.end();
        });
    }

    private void onClientGone() {
        if (finished) {
            return;
        }
        clientGone = true;
        if (streaming && scanner.sawMessageStart()) {
            abortUpstream();
        }
    }

    private void abortUpstream() {
        if (!upstreamAborted && upstreamRequest != null) {
            upstreamAborted = true;
            upstreamRequest.reset();
        }
    }

    /** The upstream exchange is over (or given up): stop watching it, then settle and respond. */
    private void end(Status status, TokenUsage usage, int httpStatus, Runnable respond) {
        if (watch != null) {
            watch.stop();
        }
        finish(status, usage, httpStatus, respond);
    }

    /**
     * Queues the settlement (group-committed with other calls) and responds: at once, or once it
     * is committed when {@link Gateway#responseWaitsForSettlement}. Runs once per call, on the event loop.
     */
    private void finish(Status status, TokenUsage usage, int httpStatus, Runnable respond) {
        if (finished) {
            return;
        }
        finished = true;
        if (route != null) {
            route.release();
        }
        Upstream served = route == null ? null : route.current();
        long cost = status == Status.UPSTREAM_ERROR ? 0 : gateway.cost(model, request, usage);
        long upstreamCost = status == Status.UPSTREAM_ERROR ? 0 : gateway.upstreamCost(model, request, usage, cost,
                served == null ? null : served.priceMultiplier());
        CallRecord record = new CallRecord(requestId, key.accountId(), key.id(), model.price().id(),
                status == Status.UPSTREAM_ERROR ? TokenUsage.NONE : usage, cost, status, httpStatus, streaming,
                surface.endpoint(), (System.nanoTime() - startNanos) / 1_000_000, upstreamRequestId,
                header("http-referer"), header("x-title"), served == null ? null : served.id(),
                served == null ? null : served.name(), route == null ? 0 : route.attempts(), upstreamCost,
                model.planId());
        gateway.metrics.record(record);
        CompletableFuture<Void> settled = gateway.settle(hold, record).whenComplete((ok, failure) -> {
            if (failure != null) {
                Log.errorf(failure, "Settlement of %s (%s USD) failed; its hold stays until the reaper releases it",
                        requestId, dev.tollgate.ledger.Money.format(cost));
            }
        });
        Runnable reply = gateway.generated.recordThen(outputs, key.accountId(), key.id(), served,
                ctx.request().headers(), gateway.blocking(), context, respond);
        if (gateway.responseWaitsForSettlement()) {
            settled.whenComplete((ok, failure) -> context.runOnContext(v -> reply.run()));
        } else {
            reply.run();
        }
    }

    private String header(String name) {
        String value = ctx.request().getHeader(name);
        return value == null ? null : value.length() > 256 ? value.substring(0, 256) : value;
    }
}
