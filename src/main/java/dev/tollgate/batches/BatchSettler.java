package dev.tollgate.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.files.CallOutputs;
import dev.tollgate.files.GeneratedResources;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceModifiers;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.metering.TokenUsage;
import dev.tollgate.metering.UsageAccumulator;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamTarget;
import dev.tollgate.upstream.pool.Upstream;
import dev.tollgate.upstream.pool.UpstreamPool;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Settles Message Batches: polls the upstream for each unfinished batch and, once it has ended,
 * reads its results (streamed, line by line) and bills it in one transaction
 * (tg_settle_message_batch): each succeeded request at batch prices with its own usage record,
 * nothing for errored, canceled or expired ones, and the rest of the hold released. Exactly once,
 * whatever the number of instances: a pass claims due batches with SKIP LOCKED, and the settlement
 * itself does nothing for a batch already settled. Runs on a timer and from
 * {@code POST /admin/v1/maintenance/batches} (Lambda).
 */
@ApplicationScoped
public class BatchSettler {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BatchStore store;
    private final UpstreamPool pool;
    private final UpstreamClient client;
    private final PriceTable prices;
    private final dev.tollgate.plans.PlanBook plans;
    private final BatchesConfig config;
    private final GeneratedResources generated;
    private final String defaultVersion;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    public BatchSettler(BatchStore store, UpstreamPool pool, UpstreamClient client, PriceTable prices,
                        dev.tollgate.plans.PlanBook plans, BatchesConfig config, dev.tollgate.config.TollgateConfig tollgate,
                        GeneratedResources generated) {
        this.plans = plans;
        this.generated = generated;
        this.store = store;
        this.pool = pool;
        this.client = client;
        this.prices = prices;
        this.config = config;
        this.defaultVersion = tollgate.upstream().defaultVersion();
    }

    /** What one pass did. */
    public record Pass(int polled, int settled) {
    }

    @Scheduled(every = "${tollgate.batches.poll-interval:60s}", delayed = "10s",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void scheduled() {
        if (config.pollerEnabled()) {
            try {
                run();
            } catch (RuntimeException e) {
                Log.warnf("The batch settlement pass failed: %s", e.toString());
            }
        }
    }

    /** Polls every batch that is due, in claims of {@code poll-batch-size}; returns what it did. */
    public Pass run() {
        int polled = 0;
        int settled = 0;
        List<BatchStore.Row> due;
        do {
            due = store.claimDue(config.pollBatchSize(), config.pollInterval());
            for (BatchStore.Row row : due) {
                polled++;
                try {
                    if (poll(row)) {
                        settled++;
                    }
                } catch (RuntimeException e) {
                    Log.warnf("Polling batch %s failed; the next pass tries again: %s", row.id(), e.toString());
                }
            }
        } while (due.size() == config.pollBatchSize());
        return new Pass(polled, settled);
    }

    /**
     * Asks the upstream how the batch is doing, keeps what it says, and settles it when it has
     * ended. Blocking (a virtual thread or a worker).
     *
     * @return whether this call settled it
     */
    public boolean poll(BatchStore.Row row) {
        if (row.settledAt() != null) {
            return false;
        }
        Optional<Upstream> found = pool.find(row.upstreamId()).filter(u -> u.target() != null);
        if (found.isEmpty()) {
            Log.warnf("Batch %s lives on upstream %s, which is gone: it cannot be polled", row.id(), row.upstreamId());
            return false;
        }
        Upstream upstream = found.get();
        UpstreamClient.Answer answer;
        try {
            answer = client.call(upstream.target(), HttpMethod.GET, "/v1/messages/batches/" + row.id(), MultiMap.caseInsensitiveMultiMap(),
                    new byte[0]).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("batch " + row.id() + " could not be read upstream: " + e, e);
        }
        if (answer.status() != 200) {
            throw new IllegalStateException("batch " + row.id() + " answered " + answer.status() + " upstream");
        }
        JsonNode batch;
        try {
            batch = JSON.readTree(answer.body().getBytes());
        } catch (IOException e) {
            throw new IllegalStateException("batch " + row.id() + "'s state could not be read", e);
        }
        String status = batch.path("processing_status").asText(row.processingStatus());
        store.snapshot(row.id(), batch.toString(), status);
        if (!"ended".equals(status)) {
            return false;
        }
        BatchStore.Row ended = new BatchStore.Row(row.id(), row.accountId(), row.keyId(), row.upstreamId(), row.holdId(),
                row.requestCount(), batch.toString(), status, null, row.models(), row.createdAt(), row.planId());
        return settle(ended, upstream);
    }

    /** Reads an ended batch's results and bills them once. */
    boolean settle(BatchStore.Row row, Upstream upstream) {
        JsonNode models;
        try {
            models = JSON.readTree(row.models());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        BatchStore.Settlement s = new BatchStore.Settlement();
        Set<String> seen = new HashSet<>();
        CallOutputs outputs = new CallOutputs();
        UpstreamTarget t = upstream.target();
        URI uri = URI.create((t.tls() ? "https://" : "http://") + t.host() + ":" + t.port() + t.basePath()
                + BatchRoutes.resultsPath(row, upstream));
        HttpRequest request = HttpRequest.newBuilder(uri).GET().timeout(Duration.ofMinutes(10))
                .header("x-api-key", t.apiKey()).header("anthropic-version", defaultVersion)
                .header("accept", "application/binary").build();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("the results of batch " + row.id() + " answered " + response.statusCode());
                }
                String line;
                while ((line = lines.readLine()) != null) {
                    if (!line.isBlank()) {
                        add(s, JSON.readTree(line), models, seen, row.planId(), outputs);
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("the results of batch " + row.id() + " could not be read: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        Long total = store.settle(row.id(), s, upstream.name());
        if (total != null) {
            Log.infof("Settled batch %s: %d results, %s nano-USD", row.id(), s.customIds().size(), total);
            if (outputs.found()) {
                generated.record(row.accountId(), row.keyId(), upstream, outputs, MultiMap.caseInsensitiveMultiMap());
            }
        }
        return total != null;
    }

    /**
     * One result line: its usage record's values (cost 0 unless succeeded); a succeeded message's
     * code execution files and container go to {@code outputs}, to be recorded as the account's.
     */
    private void add(BatchStore.Settlement s, JsonNode line, JsonNode models, Set<String> seen, java.util.UUID planId,
                     CallOutputs outputs) {
        String customId = line.path("custom_id").asText(null);
        if (customId == null || !seen.add(customId)) {
            return;
        }
        String billed = models.path(customId).asText(null);
        if (billed == null) {
            Log.warnf("A batch result names custom_id %s, which the batch did not have: ignored", customId);
            return;
        }
        boolean only1h = billed.startsWith("1h:");
        String modelId = only1h ? billed.substring(3) : billed;
        JsonNode result = line.path("result");
        String type = result.path("type").asText("");
        TokenUsage usage = TokenUsage.NONE;
        long cost = 0;
        long upstreamCost = 0;
        String upstreamRequest = null;
        if ("succeeded".equals(type)) {
            JsonNode message = result.path("message");
            UsageAccumulator acc = new UsageAccumulator();
            acc.applyMessageUsage(message.path("usage"));
            TokenUsage reported = acc.toTokenUsage(only1h);
            PriceModifiers m = reported.modifiers();
            usage = new TokenUsage(reported.input(), reported.output(), reported.cacheWrite5m(), reported.cacheWrite1h(),
                    reported.cacheRead(), reported.webSearchRequests(), new PriceModifiers("batch", m.inferenceGeo(), null));
            Optional<ModelPrice> price = prices.resolve(modelId).map(PriceTable.Resolved::price);
            if (price.isEmpty()) {
                Log.errorf("Batch model %s is no longer priced: its results are recorded at zero", modelId);
            } else {
                // Charged at the plan the account had when it created the batch; the upstream bills list price.
                ModelPrice charged = plans.charged(planId, price.get(), true);
                upstreamCost = prices.calculator().costNanos(price.get(), usage);
                cost = charged == price.get() ? upstreamCost : prices.calculator().costNanos(charged, usage);
            }
            upstreamRequest = message.path("id").asText(null);
            outputs.message(message);
        }
        s.customIds().add(customId);
        s.models().add(modelId);
        s.input().add(usage.input());
        s.output().add(usage.output());
        s.write5m().add(usage.cacheWrite5m());
        s.write1h().add(usage.cacheWrite1h());
        s.read().add(usage.cacheRead());
        s.webSearches().add(usage.webSearchRequests());
        s.costs().add(cost);
        s.status().add(switch (type) {
            case "succeeded" -> "ok";
            case "errored" -> "upstream_error";
            case "canceled" -> "canceled";
            case "expired" -> "expired";
            default -> "unknown";
        });
        s.httpStatus().add("succeeded".equals(type) ? 200 : 0);
        s.upstreamRequestIds().add(upstreamRequest);
        s.upstreamCosts().add(upstreamCost);
    }
}
