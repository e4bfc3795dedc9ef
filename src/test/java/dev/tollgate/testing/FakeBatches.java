package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.http.HttpServerRequest;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fake upstream's Message Batches API (digest §6.3): create, get, list (after_id / before_id /
 * limit, newest first), cancel, delete (only once ended) and results (JSONL, in a shuffled order,
 * fetched from the {@code results_url} it gives, on its own base URL).
 *
 * <p>A batch stays {@code in_progress} until {@link #endAll()} / {@link #end(String)}, or until its
 * expiry ({@link #expireAfter(Duration)}, 24 hours unless compressed for a test) passes. It then
 * ends: each request's result is the outcome {@link #plan planned} for its custom_id, else
 * {@code succeeded} with the fake's token count as input and 7 output tokens; at expiry, unplanned
 * requests are {@code expired}; after a cancel, {@code canceled}.
 */
public final class FakeBatches extends FakeStored {

    /** The result of one request ({@code codeExecution}: what a succeeded one's code execution made, or null). */
    public record Outcome(String type, Usage usage, Scenario.CodeExecution codeExecution) {
        Outcome(String type, Usage usage) {
            this(type, usage, null);
        }

        public static Outcome succeeded(Usage usage) {
            return new Outcome("succeeded", usage);
        }

        /** Succeeded after running code execution in {@code containerId}, which wrote {@code fileIds}. */
        public static Outcome succeededWithCodeExecution(Usage usage, String containerId, String... fileIds) {
            return new Outcome("succeeded", usage, new Scenario.CodeExecution(containerId, List.of(fileIds)));
        }

        public static Outcome errored() {
            return new Outcome("errored", null);
        }

        public static Outcome canceled() {
            return new Outcome("canceled", null);
        }

        public static Outcome expired() {
            return new Outcome("expired", null);
        }
    }

    private static final class Batch {
        final String id = id("msgbatch_");
        final Instant createdAt = Instant.now();
        Instant expiresAt;
        final Map<String, JsonNode> requests = new LinkedHashMap<>();
        String status = "in_progress";
        Instant endedAt;
        Instant cancelInitiatedAt;
        final Map<String, JsonNode> results = new LinkedHashMap<>();
    }

    private final FakeUpstream fake;
    private final Map<String, Batch> batches = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Map<String, Outcome> planned = new ConcurrentHashMap<>();
    private final AtomicInteger created = new AtomicInteger();
    private final AtomicInteger resultFetches = new AtomicInteger();
    private final AtomicInteger gets = new AtomicInteger();
    private volatile Duration expiry = Duration.ofHours(24);

    FakeBatches(FakeUpstream fake) {
        this.fake = fake;
    }

    /** The outcome of the request with this custom_id in any batch created from now on. */
    public FakeBatches plan(String customId, Outcome outcome) {
        planned.put(customId, outcome);
        return this;
    }

    /** Compresses the 24-hour expiry of batches created from now on. */
    public FakeBatches expireAfter(Duration d) {
        expiry = d;
        return this;
    }

    public void end(String id) {
        Batch b = batches.get(id);
        synchronized (b) {
            finish(b, "succeeded");
        }
    }

    public void endAll() {
        List<Batch> all;
        synchronized (batches) {
            all = new ArrayList<>(batches.values());
        }
        for (Batch b : all) {
            synchronized (b) {
                finish(b, "succeeded");
            }
        }
    }

    /** Batches created (POSTs answered 200). */
    public int created() {
        return created.get();
    }

    /** Results downloads answered 200. */
    public int resultFetches() {
        return resultFetches.get();
    }

    /** The params of a stored batch's request, as received. */
    public JsonNode params(String batchId, String customId) {
        return batches.get(batchId).requests.get(customId);
    }

    public boolean exists(String batchId) {
        return batches.containsKey(batchId);
    }

    void reset() {
        batches.clear();
        planned.clear();
        created.set(0);
        resultFetches.set(0);
        gets.set(0);
        expiry = Duration.ofHours(24);
    }

    /** Handles /v1/messages/batches*; false for any other path. */
    boolean handle(HttpServerRequest req, String path, byte[] body, boolean authorized) {
        if (!path.startsWith("/v1/messages/batches")) {
            return false;
        }
        if (!authorized) {
            error(req, 401, "authentication_error", "invalid x-api-key");
            return true;
        }
        String rest = path.substring("/v1/messages/batches".length());
        String method = req.method().name();
        if (rest.isEmpty() || rest.equals("/")) {
            if (method.equals("POST")) {
                create(req, body);
            } else if (method.equals("GET")) {
                list(req);
            } else {
                error(req, 405, "invalid_request_error", "Method not allowed");
            }
            return true;
        }
        String[] segments = rest.substring(1).split("/");
        Batch b = batches.get(segments[0]);
        if (b == null) {
            error(req, 404, "not_found_error", "Message batch " + segments[0] + " not found");
            return true;
        }
        synchronized (b) {
            tick(b);
            if (segments.length == 1 && method.equals("GET")) {
                gets.incrementAndGet();
                json(req, 200, view(b));
            } else if (segments.length == 1 && method.equals("DELETE")) {
                if (!b.status.equals("ended")) {
                    error(req, 400, "invalid_request_error", "Batch " + b.id + " cannot be deleted while it is still processing");
                    return true;
                }
                batches.remove(b.id);
                json(req, 200, JSON.createObjectNode().put("id", b.id).put("type", "message_batch_deleted"));
            } else if (segments.length == 2 && segments[1].equals("cancel") && method.equals("POST")) {
                if (b.status.equals("in_progress")) {
                    b.status = "canceling";
                    b.cancelInitiatedAt = Instant.now();
                }
                json(req, 200, view(b));
            } else if (segments.length == 2 && segments[1].equals("results") && method.equals("GET")) {
                if (!b.status.equals("ended")) {
                    error(req, 400, "invalid_request_error", "Batch " + b.id + " has not ended yet: its results are not available");
                    return true;
                }
                resultFetches.incrementAndGet();
                List<JsonNode> lines = new ArrayList<>(b.results.values());
                Collections.shuffle(lines);
                StringBuilder sb = new StringBuilder();
                for (JsonNode l : lines) {
                    sb.append(l).append('\n');
                }
                req.response().setStatusCode(200).putHeader("content-type", "application/binary")
                        .putHeader("request-id", id("req_")).end(sb.toString());
            } else {
                error(req, 404, "not_found_error", "Not Found");
            }
        }
        return true;
    }

    private void create(HttpServerRequest req, byte[] body) {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (Exception e) {
            error(req, 400, "invalid_request_error", "invalid JSON");
            return;
        }
        JsonNode requests = root.path("requests");
        if (!requests.isArray() || requests.isEmpty()) {
            error(req, 400, "invalid_request_error", "requests: Field required");
            return;
        }
        Batch b = new Batch();
        b.expiresAt = b.createdAt.plus(expiry);
        for (JsonNode r : requests) {
            b.requests.put(r.path("custom_id").asText(), r.path("params"));
        }
        batches.put(b.id, b);
        created.incrementAndGet();
        json(req, 200, view(b));
    }

    private void list(HttpServerRequest req) {
        int limit = req.getParam("limit") == null ? 20 : Integer.parseInt(req.getParam("limit"));
        List<Batch> all;
        synchronized (batches) {
            all = new ArrayList<>(batches.values());
        }
        Collections.reverse(all);
        ObjectNode page = JSON.createObjectNode();
        ArrayNode data = page.putArray("data");
        for (Batch b : all.subList(0, Math.min(limit, all.size()))) {
            synchronized (b) {
                tick(b);
                data.add(view(b));
            }
        }
        page.put("has_more", all.size() > limit);
        page.put("first_id", data.isEmpty() ? null : data.get(0).path("id").asText());
        page.put("last_id", data.isEmpty() ? null : data.get(data.size() - 1).path("id").asText());
        json(req, 200, page);
    }

    private void tick(Batch b) {
        if (b.status.equals("canceling")) {
            finish(b, "canceled");
        } else if (b.status.equals("in_progress") && Instant.now().isAfter(b.expiresAt)) {
            finish(b, "expired");
        }
    }

    private void finish(Batch b, String unplanned) {
        if (b.status.equals("ended")) {
            return;
        }
        for (Map.Entry<String, JsonNode> r : b.requests.entrySet()) {
            Outcome o = planned.get(r.getKey());
            if (o == null) {
                o = unplanned.equals("succeeded") ? Outcome.succeeded(Usage.computed()) : new Outcome(unplanned, null);
            }
            b.results.put(r.getKey(), result(r.getKey(), r.getValue(), o));
        }
        b.status = "ended";
        b.endedAt = Instant.now();
    }

    private JsonNode result(String customId, JsonNode params, Outcome o) {
        ObjectNode line = JSON.createObjectNode().put("custom_id", customId);
        ObjectNode result = line.putObject("result").put("type", o.type());
        switch (o.type()) {
            case "succeeded" -> {
                Usage u = o.usage();
                ObjectNode m = result.putObject("message");
                m.put("id", id("msg_")).put("type", "message").put("role", "assistant")
                        .put("model", params.path("model").asText());
                ArrayNode content = m.putArray("content");
                content.addObject().put("type", "text").put("text", "Batch reply to " + customId);
                if (o.codeExecution() != null) {
                    String toolId = id("srvtoolu_");
                    content.addObject().put("type", "server_tool_use").put("id", toolId).put("name", "bash_code_execution")
                            .putObject("input").put("command", "python make_report.py");
                    content.add(fake.bashResult(toolId, o.codeExecution().fileIds()));
                    m.putObject("container").put("id", o.codeExecution().containerId())
                            .put("expires_at", Instant.now().plusSeconds(3600).toString());
                }
                m.put("stop_reason", "end_turn").putNull("stop_sequence");
                ObjectNode usage = m.putObject("usage");
                usage.put("input_tokens", u.inputTokens() != null ? u.inputTokens() : FakeUpstream.countInputTokens(params));
                usage.put("cache_creation_input_tokens", u.cacheCreationInputTokens());
                usage.put("cache_read_input_tokens", u.cacheRead());
                usage.putObject("cache_creation").put("ephemeral_5m_input_tokens", u.cacheWrite5m())
                        .put("ephemeral_1h_input_tokens", u.cacheWrite1h());
                usage.put("output_tokens", u.outputTokens() != null ? u.outputTokens()
                        : (int) Math.min(7, params.path("max_tokens").asLong(7)));
                usage.put("service_tier", "batch");
            }
            case "errored" -> {
                ObjectNode err = result.putObject("error").put("type", "error");
                err.putObject("error").put("type", "invalid_request_error").put("message", "max_tokens: invalid for this model");
            }
            default -> {
            }
        }
        return line;
    }

    private ObjectNode view(Batch b) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", b.id).put("type", "message_batch").put("processing_status", b.status);
        ObjectNode counts = o.putObject("request_counts");
        int processing = b.status.equals("ended") ? 0 : b.requests.size();
        counts.put("processing", processing);
        for (String t : List.of("succeeded", "errored", "canceled", "expired")) {
            counts.put(t, b.results.values().stream().filter(r -> r.path("result").path("type").asText().equals(t)).count());
        }
        o.put("ended_at", b.endedAt == null ? null : b.endedAt.toString());
        o.put("created_at", b.createdAt.toString());
        o.put("expires_at", b.expiresAt.toString());
        o.putNull("archived_at");
        o.put("cancel_initiated_at", b.cancelInitiatedAt == null ? null : b.cancelInitiatedAt.toString());
        o.put("results_url", b.status.equals("ended") ? fake.baseUrl() + "/v1/messages/batches/" + b.id + "/results" : null);
        return o;
    }
}
