package dev.tollgate.upstream.pool;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.admin.AuditLog;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Money;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.reports.UsageReport;
import dev.tollgate.upstream.UpstreamClient;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.annotations.RegisterForReflection;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * {@code /admin/v1/upstreams}: the operator's upstream credentials (guarded by the admin filter).
 * A credential goes in once and never comes out: responses and the audit log show its last four
 * characters. Every change is audited in its own transaction and reaches routing here at once,
 * elsewhere within {@code tollgate.keys.cache-ttl}.
 */
@Path("/admin/v1/upstreams")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class UpstreamsResource {

    private final UpstreamRegistry registry;
    private final UpstreamStore store;
    private final UpstreamPool pool;
    private final UpstreamClient client;
    private final PriceTable prices;
    private final AuditLog audit;
    /** An upstream's spend, from the usage roll-ups (read-only usage, never the ledger). */
    private final UsageReport usage;

    public UpstreamsResource(UpstreamRegistry registry, UpstreamStore store, UpstreamPool pool, UpstreamClient client,
                             PriceTable prices, AuditLog audit, UsageReport usage) {
        this.registry = registry;
        this.usage = usage;
        this.store = store;
        this.pool = pool;
        this.client = client;
        this.prices = prices;
        this.audit = audit;
    }

    @RegisterForReflection
    record Recent(long calls, long errors, long throttled) {
    }

    @RegisterForReflection
    record SpendView(String todayUsd, String monthUsd) {
    }

    @RegisterForReflection
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record UpstreamView(UUID id, String name, String kind, String baseUrl, String keyHint, int weight, int priority,
                        @JsonInclude(JsonInclude.Include.ALWAYS) List<String> models,
                        @JsonInclude(JsonInclude.Include.ALWAYS) Integer maxConcurrent, boolean enabled,
                        boolean configured, String state, @JsonInclude(JsonInclude.Include.ALWAYS) Instant until,
                        int inFlight, Recent recent, @JsonInclude(JsonInclude.Include.ALWAYS) Instant createdAt,
                        String priceMultiplier, String region, String projectId, String inferenceProfile, String auth,
                        String clientEmail, String tokenUrl, Map<String, String> modelMap, SpendView spend) {
    }

    @RegisterForReflection
    record TestView(UUID id, String name, boolean ok, int status, String message, long latencyMs) {
    }

    @RegisterForReflection
    record ListView(List<UpstreamView> data) {
    }

    @POST
    public RestResponse<UpstreamView> create(JsonNode body) {
        UpstreamFields.Applied a = UpstreamFields.apply(body, null, prices);
        UUID id = UUID.randomUUID();
        UpstreamStore.Row row = row(id, a, seal(a.secret(), id), a.keyHint(),
                Instant.now().truncatedTo(ChronoUnit.MICROS));
        write("upstream.create", row, true);
        return RestResponse.status(RestResponse.Status.CREATED, view(find(id.toString()), false));
    }

    @GET
    public ListView list() {
        return new ListView(registry.all().stream().map(u -> view(u, false)).toList());
    }

    @GET
    @Path("/{id}")
    public UpstreamView get(@PathParam("id") String id) {
        return view(find(id), true);
    }

    /** Changes what is given; absent fields stay, {@code null} clears models or max_concurrent. */
    @PATCH
    @Path("/{id}")
    public UpstreamView update(@PathParam("id") String id, JsonNode body) {
        UpstreamStore.Row current = stored(find(id));
        UpstreamFields.Applied a = UpstreamFields.apply(body, current, prices);
        byte[] credential = a.secret() == null ? current.credential() : seal(a.secret(), current.id());
        String hint = a.secret() == null ? current.keyHint() : a.keyHint();
        write("upstream.update", row(current.id(), a, credential, hint, current.createdAt()), false);
        return view(find(id), false);
    }

    /** Disables and hides the upstream; its usage records keep naming it. */
    @DELETE
    @Path("/{id}")
    public RestResponse<Void> delete(@PathParam("id") String id) {
        UpstreamStore.Row current = stored(find(id));
        QuarkusTransaction.requiringNew().run(() -> {
            store.delete(current.id());
            audit.record("upstream.delete", current.id().toString(), Map.of("name", current.name()));
        });
        registry.reload();
        return RestResponse.noContent();
    }

    /** A count_tokens call through this upstream alone (free at Anthropic): does its credential work? */
    @POST
    @Path("/{id}/test")
    public TestView test(@PathParam("id") String id) {
        Upstream u = find(id);
        if (u.target() == null) {
            return new TestView(u.id(), u.name(), false, 0,
                    "Its credential cannot be decrypted with TOLLGATE_SECRETS_KEY", 0);
        }
        PriceTable.Resolved model = prices.resolve(u.models() != null ? u.models().get(0) : cheapestModel())
                .orElseThrow();
        byte[] probe = ("{\"model\":\"" + model.upstreamModel()
                + "\",\"messages\":[{\"role\":\"user\",\"content\":\"ping\"}]}").getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        try {
            UpstreamClient.Answer answer = client.onContext(() -> u.dialect().countTokens(client, model.price().id(),
                            probe, MultiMap.caseInsensitiveMultiMap(), null))
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            int status = answer.status();
            String message = status == 200 ? "The credential works" : errorMessage(answer.body());
            audit.record("upstream.test", u.id().toString(), Map.of("status", status));
            return new TestView(u.id(), u.name(), status == 200, status, message, ms);
        } catch (Exception e) {
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            return new TestView(u.id(), u.name(), false, 0,
                    "No answer: " + UpstreamClient.classify(e.getCause() != null ? e.getCause() : e).getMessage(), ms);
        }
    }

    private String cheapestModel() {
        return prices.available().stream().min(Comparator.comparing(ModelPrice::input)).orElseThrow().id();
    }

    private static String errorMessage(Buffer body) {
        try {
            JsonNode error = new com.fasterxml.jackson.databind.ObjectMapper().readTree(body.getBytes()).path("error");
            return error.path("type").asText("error") + ": " + error.path("message").asText("");
        } catch (java.io.IOException e) {
            return "The upstream answered without a JSON error body";
        }
    }

    private void write(String action, UpstreamStore.Row row, boolean insert) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", row.name());
        details.put("kind", row.kind());
        details.put("base_url", row.baseUrl());
        details.put("settings", UpstreamKinds.settings(row.settings()));
        details.put("price_multiplier", row.priceMultiplier().stripTrailingZeros().toPlainString());
        details.put("key_hint", row.keyHint());
        details.put("weight", row.weight());
        details.put("priority", row.priority());
        details.put("models", row.models());
        details.put("max_concurrent", row.maxConcurrent());
        details.put("enabled", row.enabled());
        try {
            QuarkusTransaction.requiringNew().run(() -> {
                store.save(row, insert);
                audit.record(action, row.id().toString(), details);
            });
        } catch (UpstreamStore.DuplicateName e) {
            throw ApiException.invalidRequest("name: an upstream named " + row.name() + " exists already");
        }
        registry.reload();
    }

    private byte[] seal(String apiKey, UUID id) {
        byte[] sealed = registry.seal(apiKey, id);
        if (sealed == null) {
            throw new ApiException(500, "api_error",
                    "TOLLGATE_SECRETS_KEY is not set: the gateway cannot store upstream credentials");
        }
        return sealed;
    }

    private static UpstreamStore.Row row(UUID id, UpstreamFields.Applied a, byte[] credential, String hint, Instant created) {
        return new UpstreamStore.Row(id, a.name(), a.kind(), a.baseUrl(), credential, hint, a.weight(), a.priority(),
                a.models(), a.maxConcurrent(), a.enabled(), created, a.settings().toString(), a.priceMultiplier());
    }

    private Upstream find(String id) {
        UUID uuid;
        try {
            uuid = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw ApiException.notFound("upstream: " + id);
        }
        return registry.find(uuid).orElseThrow(() -> ApiException.notFound("upstream: " + id));
    }

    /** The stored row of an upstream the admin API may change (not the configured default). */
    private UpstreamStore.Row stored(Upstream u) {
        if (u.configured()) {
            throw new ApiException(409, "invalid_request_error",
                    "The default upstream is held in configuration (TOLLGATE_UPSTREAM_API_KEY / _BASE_URL)");
        }
        return store.live().stream().filter(r -> r.id().equals(u.id())).findFirst()
                .orElseThrow(() -> ApiException.notFound("upstream: " + u.id()));
    }

    private UpstreamView view(Upstream u, boolean withSpend) {
        UpstreamPool.State s = pool.state(u);
        SpendView spend = null;
        if (withSpend) {
            long[] sp = usage.upstreamSpend(u.id());
            spend = new SpendView(Money.format(sp[0]), Money.format(sp[1]));
        }
        com.fasterxml.jackson.databind.node.ObjectNode settings = u.settings() == null
                ? UpstreamKinds.settings(null) : u.settings();
        Map<String, String> modelMap = UpstreamKinds.modelMap(settings);
        return new UpstreamView(u.id(), u.name(), u.kind(), u.baseUrl(), u.keyHint(), u.weight(), u.priority(), u.models(),
                u.maxConcurrent(), u.enabled(), u.configured(), s.state(), s.until(), s.inFlight(),
                new Recent(s.recentCalls(), s.recentErrors(), s.recentThrottled()), u.createdAt(),
                u.priceMultiplier().stripTrailingZeros().toPlainString(), setting(settings, "region"), setting(settings, "project_id"),
                setting(settings, "inference_profile"), setting(settings, "auth"), setting(settings, "client_email"),
                setting(settings, "token_url"), modelMap.isEmpty() ? null : modelMap, spend);
    }

    private static String setting(com.fasterxml.jackson.databind.node.ObjectNode settings, String name) {
        return settings.hasNonNull(name) ? settings.get(name).asText() : null;
    }
}
