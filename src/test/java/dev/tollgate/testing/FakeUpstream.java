package dev.tollgate.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * In-process impersonation of {@code api.anthropic.com} for tests: a Vert.x HTTP/1.1 server on
 * {@code 127.0.0.1:<random port>} that speaks the wire format of {@code /work/shared/anthropic-api.md}
 * (§2 Message object, §3 SSE grammar, §4 error envelope and headers, §5 auth/version, §6.1 count_tokens).
 *
 * <h2>Endpoints</h2>
 * <ul>
 *   <li>{@code POST /v1/messages} (query string such as {@code ?beta=true} ignored) — JSON or SSE
 *       ({@code "stream": true}).</li>
 *   <li>{@code POST /v1/messages/count_tokens} — {@code {"input_tokens": N}}.</li>
 *   <li>{@code /v1/messages/batches…} — Message Batches, see {@link FakeBatches} ({@link #batches}).</li>
 *   <li>{@code /v1/files…}, {@code /v1/skills…} — Files and Skills, see {@link FakeFiles} ({@link #files}).</li>
 *   <li>anything else — 404 {@code not_found_error}.</li>
 * </ul>
 *
 * <h2>Processing order of a request</h2>
 * <ol>
 *   <li>The request is recorded ({@link #requests()}) and counted. For {@code POST /v1/messages} the next queued
 *       {@link Scenario} is taken (FIFO, one per call, even if the call is later rejected).</li>
 *   <li>Scenario {@code delayBeforeHeaders} wait; scenario {@link Scenario#hangUp() hang-up} closes here.</li>
 *   <li>413 {@code request_too_large} if the body exceeds 32 MB.</li>
 *   <li>401 {@code authentication_error} "invalid x-api-key" unless {@code x-api-key: <key>}, or no
 *       {@code x-api-key} and {@code Authorization: Bearer <key>}, where the key is the instance's own
 *       ({@link #API_KEY} unless started with {@link #start(String)}).</li>
 *   <li>400 if {@code anthropic-version} is missing or not one of {@link #SUPPORTED_VERSIONS}.</li>
 *   <li>400 for malformed JSON / missing required fields; 404 {@code model: <id>} for unknown models.</li>
 *   <li>Scenario HTTP error (real status, real envelope), otherwise the reply (a JSON reply may stall
 *       mid-body: {@link Scenario#bodyStall}).</li>
 * </ol>
 * Every response carries {@code request-id: req_<24 base62>} and {@code anthropic-organization-id}; error bodies
 * carry the same id in {@code request_id}.
 *
 * <h2>Default behaviour (no scenario queued)</h2>
 * {@code input_tokens = countInputTokens(request)} plus the tokens of the {@link #hostDocument hosted documents}
 * it names (count_tokens counts the same), text {@link #DEFAULT_REPLY}, output tokens = its word count,
 * truncated word-wise to {@code max_tokens} (then {@code stop_reason:"max_tokens"}); {@code max_tokens:0} gives
 * empty content and 0 output tokens. No cache tokens.
 */
public final class FakeUpstream implements AutoCloseable {

    /** The credential {@link #start()} accepts (as {@code x-api-key} or {@code Authorization: Bearer}). */
    public static final String API_KEY = "sk-ant-api03-fake-upstream-key";
    /** Value of the {@code anthropic-organization-id} response header. */
    public static final String ORGANIZATION_ID = "3f1c8a52-6d0e-4b7a-9c21-5e8f0d4b7a13";
    /** The deterministic default reply (10 words). */
    public static final String DEFAULT_REPLY = "Hello! This is a deterministic reply from the fake upstream.";
    /** Accepted {@code anthropic-version} values. */
    public static final Set<String> SUPPORTED_VERSIONS = Set.of("2023-06-01", "2026-10-21");
    /** Alias → dated id (digest §7.1). */
    public static final Map<String, String> MODEL_ALIASES;
    /** Every model id accepted (dated ids, aliases and undated ids from digest §7.1 and §7.4). */
    public static final Set<String> KNOWN_MODELS;
    /** Messages / count_tokens request size limit (digest §0). */
    public static final long MAX_BODY_BYTES = 32L * 1024 * 1024;

    static {
        Map<String, String> aliases = new LinkedHashMap<>();
        aliases.put("claude-opus-4-5", "claude-opus-4-5-20251101");
        aliases.put("claude-opus-4-1", "claude-opus-4-1-20250805");
        aliases.put("claude-opus-4-0", "claude-opus-4-20250514");
        aliases.put("claude-sonnet-4-5", "claude-sonnet-4-5-20250929");
        aliases.put("claude-sonnet-4-0", "claude-sonnet-4-20250514");
        aliases.put("claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219");
        aliases.put("claude-haiku-4-5", "claude-haiku-4-5-20251001");
        aliases.put("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022");
        aliases.put("claude-3-opus-latest", "claude-3-opus-20240229");
        MODEL_ALIASES = Collections.unmodifiableMap(aliases);
        Set<String> known = new LinkedHashSet<>(aliases.keySet());
        known.addAll(aliases.values());
        known.addAll(List.of(
                // §7.1 undated ids and legacy enum aliases
                "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6", "claude-sonnet-4-6",
                "claude-3-haiku-20240307", "claude-4-opus-20250514", "claude-4-sonnet-20250514",
                // §7.4
                "claude-opus-5", "claude-sonnet-5", "claude-fable-5", "claude-mythos-5", "claude-fable-5-1",
                "claude-mythos-5-1", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5",
                "claude-fable-5-2", "claude-mythos-5-2", "claude-mythos-preview"));
        KNOWN_MODELS = Collections.unmodifiableSet(known);
    }

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final Pattern WORD = Pattern.compile("\\S+");
    private static final Pattern WORD_CHUNK = Pattern.compile("\\s*\\S+");
    private static final SecureRandom SIGNATURE_RANDOM = new SecureRandom();

    private final Vertx vertx;
    private final HttpServer server;
    private final int port;
    /** The only credential this instance accepts: each instance stands for one Anthropic organization. */
    private final String apiKey;
    private final ConcurrentLinkedQueue<Scenario> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> recorded = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger messageCalls = new AtomicInteger();
    private final AtomicInteger countTokensCalls = new AtomicInteger();
    private final HostedDocuments hostedDocuments = new HostedDocuments();
    /** Message Batches (digest §6.3): see {@link FakeBatches}. */
    public final FakeBatches batches = new FakeBatches(this);
    /** Files (§6.4) and Skills: see {@link FakeFiles}. */
    public final FakeFiles files = new FakeFiles(this);
    private final AtomicInteger completedStreams = new AtomicInteger();

    private FakeUpstream(Vertx vertx, HttpServer server, String apiKey) {
        this.vertx = vertx;
        this.server = server;
        this.port = server.actualPort();
        this.apiKey = apiKey;
    }

    /** Starts its own Vert.x instance and binds {@code 127.0.0.1:0}; accepts {@link #API_KEY}. */
    public static FakeUpstream start() {
        return start(API_KEY);
    }

    /** As {@link #start()}, accepting only {@code apiKey} (several fakes: several upstream organizations). */
    public static FakeUpstream start(String apiKey) {
        Vertx vertx = Vertx.vertx();
        try {
            HttpServerOptions options = new HttpServerOptions()
                    .setHost("127.0.0.1")
                    .setPort(0)
                    .setHttp2ClearTextEnabled(false)
                    .setHandle100ContinueAutomatically(true)
                    .setMaxHeaderSize(64 * 1024)
                    .setCompressionSupported(false);
            FakeUpstream[] self = new FakeUpstream[1];
            HttpServer server = vertx.createHttpServer(options).requestHandler(req -> self[0].handle(req));
            server.listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            self[0] = new FakeUpstream(vertx, server, apiKey);
            return self[0];
        } catch (Exception e) {
            vertx.close();
            throw new IllegalStateException("could not start FakeUpstream", e);
        }
    }

    /** {@code http://127.0.0.1:PORT} (no trailing slash). */
    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** FIFO: the next {@code POST /v1/messages} uses it; with an empty queue the default behaviour applies. */
    public void enqueue(Scenario s) {
        queue.add(java.util.Objects.requireNonNull(s));
    }

    /** Scenarios not consumed yet. */
    public int pendingScenarios() {
        return queue.size();
    }

    /**
     * A document the upstream can read by reference: {@code urlOrFileId} is a URL it fetches (a
     * {@code "url"} source) or a Files API id it stores (a {@code "file"} source), read as
     * {@code tokens} input tokens by both count_tokens and the call's default usage. A request naming
     * a file that is not hosted gets 404 {@code File not found}; a URL, 400.
     */
    public void hostDocument(String urlOrFileId, int tokens) {
        hostedDocuments.put(urlOrFileId, tokens);
    }

    /** Clears the scenario queue, the hosted documents, the recorded requests and the call counters. */
    public void reset() {
        batches.reset();
        files.reset();
        hostedDocuments.clear();
        queue.clear();
        recorded.clear();
        messageCalls.set(0);
        countTokensCalls.set(0);
        completedStreams.set(0);
    }

    /** Every request received, in arrival order (copy). */
    public List<RecordedRequest> requests() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    /** The last request received, or null. */
    public RecordedRequest lastRequest() {
        synchronized (recorded) {
            return recorded.isEmpty() ? null : recorded.get(recorded.size() - 1);
        }
    }

    /** Number of {@code POST /v1/messages} received (whatever the outcome). */
    public int messageCalls() {
        return messageCalls.get();
    }

    /** Number of {@code POST /v1/messages/count_tokens} received (whatever the outcome). */
    public int countTokensCalls() {
        return countTokensCalls.get();
    }

    /** Number of streams whose last event has been written (a reader that stops reading holds this back). */
    public int completedStreams() {
        return completedStreams.get();
    }

    @Override
    public void close() {
        try {
            server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // best effort
        }
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // best effort
        }
    }

    // ------------------------------------------------------------------ token counting

    /**
     * Deterministic input-token count, used both for the default {@code usage.input_tokens} of
     * {@code /v1/messages} and for {@code /v1/messages/count_tokens}:
     *
     * <pre>
     *   chars  = Σ length (UTF-16 chars) of
     *              system (string, or the "text" of each system block)
     *            + for every message: string content, or per content block:
     *                text.text, thinking.thinking, tool_use/server_tool_use input (compact JSON),
     *                tool_result content (string, or its blocks recursively),
     *                document source text data / content (string or blocks); images count 0
     *            + every entry of "tools" serialised as compact JSON
     *   tokens = ceil(chars / 4) + 3 × (number of messages) + 5
     * </pre>
     *
     * Never exceeds the UTF-8 byte length of the request body: every counted char is at least one body byte,
     * each message object costs at least 28 bytes of JSON, and the envelope at least 5.
     */
    public static int countInputTokens(JsonNode request) {
        if (request == null || !request.isObject()) {
            return 0;
        }
        long chars = 0;
        JsonNode system = request.get("system");
        if (system != null) {
            if (system.isTextual()) {
                chars += system.asText().length();
            } else if (system.isArray()) {
                for (JsonNode block : system) {
                    chars += blockChars(block);
                }
            }
        }
        int messageCount = 0;
        JsonNode messages = request.get("messages");
        if (messages != null && messages.isArray()) {
            for (JsonNode message : messages) {
                messageCount++;
                chars += contentChars(message.get("content"));
            }
        }
        JsonNode tools = request.get("tools");
        if (tools != null && tools.isArray()) {
            for (JsonNode tool : tools) {
                chars += tool.toString().length();
            }
        }
        long tokens = (chars + 3) / 4 + 3L * messageCount + 5;
        return (int) Math.min(Integer.MAX_VALUE, tokens);
    }

    private static long contentChars(JsonNode content) {
        if (content == null) return 0;
        if (content.isTextual()) return content.asText().length();
        long n = 0;
        if (content.isArray()) {
            for (JsonNode block : content) n += blockChars(block);
        }
        return n;
    }

    private static long blockChars(JsonNode block) {
        if (block == null || !block.isObject()) return 0;
        String type = block.path("type").asText("");
        switch (type) {
            case "text":
                return block.path("text").asText("").length();
            case "thinking":
                return block.path("thinking").asText("").length();
            case "tool_use":
            case "server_tool_use":
                JsonNode input = block.get("input");
                return input == null ? 0 : input.toString().length();
            case "tool_result":
                return contentChars(block.get("content"));
            case "document": {
                JsonNode source = block.path("source");
                String st = source.path("type").asText("");
                if ("text".equals(st)) return source.path("data").asText("").length();
                if ("content".equals(st)) return contentChars(source.get("content"));
                return 0;
            }
            default:
                return 0;
        }
    }

    // ------------------------------------------------------------------ request handling

    /** Per-request state. */
    private final class Exchange {
        final HttpServerRequest req;
        final HttpServerResponse resp;
        final String requestId = "req_" + randomBase62(24);
        final Scenario scenario;
        volatile boolean clientGone;

        Exchange(HttpServerRequest req, Scenario scenario) {
            this.req = req;
            this.resp = req.response();
            this.scenario = scenario;
            resp.closeHandler(v -> clientGone = true);
        }

        void commonHeaders(String contentType) {
            resp.putHeader("request-id", requestId);
            resp.putHeader("anthropic-organization-id", ORGANIZATION_ID);
            resp.putHeader("content-type", contentType);
            if (scenario != null) {
                scenario.headers.forEach(resp::putHeader);
            }
        }

        void json(int status, JsonNode body) {
            if (clientGone) return;
            commonHeaders("application/json");
            resp.setStatusCode(status);
            resp.end(write(body));
        }

        void error(int status, String type, String message) {
            ObjectNode err = NODES.objectNode();
            err.put("type", "error");
            ObjectNode inner = err.putObject("error");
            inner.put("type", type);
            inner.put("message", message);
            err.put("request_id", requestId);
            json(status, err);
        }
    }

    private void handle(HttpServerRequest req) {
        if (files.streamUpload(req, this::onRequest)) {
            return;
        }
        req.body()
                .onSuccess(buf -> onRequest(req, buf))
                .onFailure(t -> req.connection().close());
    }

    private void onRequest(HttpServerRequest req, Buffer buf) {
        Map<String, String> headers = new LinkedHashMap<>();
        req.headers().forEach(e -> headers.merge(e.getKey().toLowerCase(Locale.ROOT), e.getValue(), (a, b) -> a + ", " + b));
        byte[] bytes = buf.getBytes();
        recorded.add(new RecordedRequest(req.method().name(), req.uri(), headers, bytes));

        String path = req.path();
        if (batches.handle(req, path, bytes, authorized(headers)) || files.handle(req, path, bytes, authorized(headers))) {
            return;
        }
        boolean post = "POST".equals(req.method().name());
        boolean isMessages = post && "/v1/messages".equals(path);
        boolean isCount = post && "/v1/messages/count_tokens".equals(path);
        Scenario scenario = null;
        if (isMessages) {
            messageCalls.incrementAndGet();
            scenario = queue.poll();
        } else if (isCount) {
            countTokensCalls.incrementAndGet();
        }
        Exchange ex = new Exchange(req, scenario);
        long delayMs = scenario == null ? 0 : scenario.delayBeforeHeaders.toMillis();
        if (delayMs > 0) {
            vertx.setTimer(delayMs, id -> process(ex, headers, bytes, isMessages, isCount));
        } else {
            process(ex, headers, bytes, isMessages, isCount);
        }
    }

    private void process(Exchange ex, Map<String, String> headers, byte[] body, boolean isMessages, boolean isCount) {
        try {
            doProcess(ex, headers, body, isMessages, isCount);
        } catch (RuntimeException e) {
            if (!ex.resp.headWritten()) {
                ex.error(500, "api_error", "Internal server error");
            } else {
                ex.req.connection().close();
            }
        }
    }

    private void doProcess(Exchange ex, Map<String, String> headers, byte[] body, boolean isMessages, boolean isCount) {
        Scenario sc = ex.scenario;
        if (sc != null && sc.kind == Scenario.Kind.HANGUP) {
            ex.req.connection().close();
            return;
        }
        if (!isMessages && !isCount) {
            ex.error(404, "not_found_error", "Not Found");
            return;
        }
        if (body.length > MAX_BODY_BYTES) {
            ex.error(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.");
            return;
        }
        if (!authorized(headers)) {
            ex.error(401, "authentication_error", "invalid x-api-key");
            return;
        }
        String version = headers.get("anthropic-version");
        if (version == null) {
            ex.error(400, "invalid_request_error", "anthropic-version: header is required");
            return;
        }
        if (!SUPPORTED_VERSIONS.contains(version.trim())) {
            ex.error(400, "invalid_request_error", "anthropic-version: \"" + version + "\" is not a valid version");
            return;
        }
        JsonNode request;
        try {
            request = MAPPER.readTree(body);
        } catch (Exception e) {
            request = null;
        }
        if (request == null || !request.isObject()) {
            ex.error(400, "invalid_request_error",
                    request == null ? "There was an issue with your request: the body is not valid JSON"
                            : "Input should be a valid dictionary");
            return;
        }
        String invalid = validate(request, isMessages, version.trim());
        if (invalid != null) {
            ex.error(400, "invalid_request_error", invalid);
            return;
        }
        String model = request.get("model").asText();
        if (!KNOWN_MODELS.contains(model)) {
            ex.error(404, "not_found_error", "model: " + model);
            return;
        }
        HostedDocuments.Named named = hostedDocuments.named(request);
        if (named.missingFileId != null) {
            ex.error(404, "not_found_error", "File not found: " + named.missingFileId);
            return;
        }
        if (named.missingUrl != null) {
            // The real wording for an unreachable URL is not in the digest; the status and type are the API's for bad input.
            ex.error(400, "invalid_request_error", "Unable to download the file at " + named.missingUrl);
            return;
        }
        if (isCount) {
            ObjectNode out = NODES.objectNode();
            out.put("input_tokens", countInputTokens(request) + named.tokens);
            ex.json(200, out);
            return;
        }
        if (sc != null && sc.kind == Scenario.Kind.ERROR) {
            ex.error(sc.errorStatus, sc.errorType, sc.errorMessage);
            return;
        }
        Plan plan = plan(sc == null ? Scenario.defaultReply() : sc, request, named.tokens);
        if (request.path("stream").asBoolean(false)) {
            stream(ex, plan);
        } else if (sc != null && !sc.bodyStall.isZero()) {
            stalledJson(ex, plan.message(), sc.bodyStall.toMillis());
        } else {
            ex.json(200, plan.message());
        }
    }

    private void stalledJson(Exchange ex, JsonNode message, long stallMillis) {
        Buffer body = Buffer.buffer(write(message));
        int half = body.length() / 2;
        ex.commonHeaders("application/json");
        ex.resp.setStatusCode(200).putHeader("content-length", Integer.toString(body.length()));
        ex.resp.write(body.getBuffer(0, half));
        vertx.setTimer(stallMillis, id -> {
            if (!ex.clientGone) {
                ex.resp.end(body.getBuffer(half, body.length()));
            }
        });
    }

    boolean authorized(Map<String, String> headers) {
        String presented = headers.get("x-api-key");
        if (presented != null) {
            return apiKey.equals(presented.trim());
        }
        String auth = headers.get("authorization");
        return auth != null && auth.trim().equals("Bearer " + apiKey);
    }

    /** Returns an error message in the real API's style, or null if valid. */
    private static String validate(JsonNode req, boolean isMessages, String version) {
        JsonNode model = req.get("model");
        if (model == null || model.isNull()) return "model: Field required";
        if (!model.isTextual()) return "model: Input should be a valid string";
        if (isMessages) {
            JsonNode max = req.get("max_tokens");
            if (max == null || max.isNull()) return "max_tokens: Field required";
            if (!max.isIntegralNumber()) return "max_tokens: Input should be a valid integer";
            if (max.asLong() < 0) return "max_tokens: Input should be greater than or equal to 0";
        }
        JsonNode messages = req.get("messages");
        if (messages == null || messages.isNull()) return "messages: Field required";
        if (!messages.isArray()) return "messages: Input should be a valid list";
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            if (!m.isObject()) return "messages." + i + ": Input should be a valid dictionary";
            if (!m.has("role")) return "messages." + i + ".role: Field required";
            if (!m.has("content")) return "messages." + i + ".content: Field required";
        }
        if (isMessages) {
            JsonNode stream = req.get("stream");
            if (stream != null && !stream.isNull() && !stream.isBoolean()) return "stream: Input should be a valid boolean";
        }
        if ("2026-10-21".equals(version)) {
            for (String removed : List.of("temperature", "top_p", "top_k")) {
                if (req.has(removed)) return removed + ": Extra inputs are not permitted";
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ reply planning

    /** A response content block. kind: "text" | "thinking" | "tool_use". */
    private record Block(String kind, String text, String signature, String toolId, String toolName,
                         String toolJson, JsonNode toolInput) { }

    /** Everything needed to render one reply as JSON or SSE. */
    private final class Plan {
        String messageId = "msg_01" + randomBase62(22);
        String model;
        List<Block> blocks = new ArrayList<>();
        String stopReason;
        String stopSequence;
        int input, output, cacheWrite5m, cacheWrite1h, cacheRead, webSearch, webFetch;
        String serviceTier;
        String inferenceGeo;             // null = not asked for: reported as "global" only with the newer fields
        String speed;                    // null = not asked for: not reported
        boolean legacy, omitBreakdown, newerFields;
        String containerId;              // code execution ran: {"id", "expires_at"} in the message / message_delta
        Scenario scenario;

        ObjectNode container() {
            return NODES.objectNode().put("id", containerId)
                    .put("expires_at", java.time.Instant.now().plusSeconds(3600).toString());
        }

        ObjectNode message() {
            ObjectNode m = NODES.objectNode();
            m.put("id", messageId);
            m.put("type", "message");
            m.put("role", "assistant");
            m.put("model", model);
            ArrayNode content = m.putArray("content");
            for (Block b : blocks) content.add(fullBlock(b));
            if (containerId != null) m.set("container", container());
            else if (newerFields) m.putNull("container");
            m.put("stop_reason", stopReason);
            if (stopSequence == null) m.putNull("stop_sequence"); else m.put("stop_sequence", stopSequence);
            if (newerFields) m.putNull("stop_details");
            m.set("usage", fullUsage(output, true));
            return m;
        }

        ObjectNode fullUsage(int outputTokens, boolean withServerToolUse) {
            ObjectNode u = NODES.objectNode();
            u.put("input_tokens", input);
            if (legacy) {
                u.put("output_tokens", outputTokens);
                return u;
            }
            u.put("cache_creation_input_tokens", cacheWrite5m + cacheWrite1h);
            u.put("cache_read_input_tokens", cacheRead);
            if (!omitBreakdown) {
                ObjectNode cc = u.putObject("cache_creation");
                cc.put("ephemeral_5m_input_tokens", cacheWrite5m);
                cc.put("ephemeral_1h_input_tokens", cacheWrite1h);
            }
            u.put("output_tokens", outputTokens);
            if (withServerToolUse) addServerToolUse(u);
            u.put("service_tier", serviceTier);
            if (newerFields || inferenceGeo != null) u.put("inference_geo", inferenceGeo != null ? inferenceGeo : "global");
            if (speed != null) u.put("speed", speed);
            return u;
        }

        /** message_delta usage: cumulative, input side repeated, no cache_creation, no service_tier (§3.3). */
        ObjectNode deltaUsage() {
            ObjectNode u = NODES.objectNode();
            if (legacy) {
                u.put("output_tokens", output);
                return u;
            }
            u.put("input_tokens", input);
            u.put("cache_creation_input_tokens", cacheWrite5m + cacheWrite1h);
            u.put("cache_read_input_tokens", cacheRead);
            u.put("output_tokens", output);
            addServerToolUse(u);
            return u;
        }

        void addServerToolUse(ObjectNode u) {
            if (webSearch > 0 || webFetch > 0) {
                ObjectNode stu = u.putObject("server_tool_use");
                stu.put("web_search_requests", webSearch);
                if (webFetch > 0) stu.put("web_fetch_requests", webFetch);
            }
        }

        ObjectNode fullBlock(Block b) {
            ObjectNode n = NODES.objectNode();
            if (b.kind().endsWith("_tool_result")) {
                return b.toolInput().deepCopy();
            }
            n.put("type", b.kind());
            switch (b.kind()) {
                case "text" -> n.put("text", b.text());
                case "thinking" -> {
                    n.put("thinking", b.text());
                    n.put("signature", b.signature());
                }
                default -> {
                    n.put("id", b.toolId());
                    n.put("name", b.toolName());
                    n.set("input", b.toolInput());
                }
            }
            return n;
        }
    }

    private Plan plan(Scenario sc, JsonNode request, long hostedTokens) {
        Plan p = new Plan();
        p.scenario = sc;
        String requestedModel = request.get("model").asText();
        p.model = sc.model != null ? sc.model : MODEL_ALIASES.getOrDefault(requestedModel, requestedModel);
        int maxTokens = (int) Math.min(Integer.MAX_VALUE, request.get("max_tokens").asLong());
        Usage u = sc.usage;
        boolean explicitOutput = u != null && u.outputTokens() != null;
        long budget = explicitOutput ? Long.MAX_VALUE : maxTokens;
        long consumed = 0;
        boolean truncated = false;

        if (sc.thinking != null) {
            int words = countWords(sc.thinking);
            int keep = (int) Math.min(words, budget - consumed);
            if (keep < words) truncated = true;
            if (keep > 0 || (!truncated && !sc.thinking.isEmpty())) {
                p.blocks.add(new Block("thinking", firstWords(sc.thinking, keep), signature(), null, null, null, null));
            }
            consumed += keep;
        }
        String text = sc.text != null ? sc.text : DEFAULT_REPLY;
        if (!truncated && !text.isEmpty()) {
            int words = countWords(text);
            int keep = (int) Math.min(words, budget - consumed);
            if (keep < words) truncated = true;
            if (keep > 0) {
                p.blocks.add(new Block("text", firstWords(text, keep), null, null, null, null, null));
            }
            consumed += keep;
        }
        if (!truncated) {
            for (Scenario.ToolUse t : sc.toolUses) {
                int cost = (t.inputJson().length() + 3) / 4;
                if (consumed + cost > budget) {
                    truncated = true;
                    break;
                }
                consumed += cost;
                String id = t.id() != null ? t.id() : "toolu_01" + randomBase62(22);
                p.blocks.add(new Block("tool_use", null, null, id, t.name(), t.inputJson(), t.input()));
            }
        }
        if (!truncated && sc.codeExecution != null) {
            codeExecution(p, sc.codeExecution);
        }
        if (maxTokens == 0 && !explicitOutput) truncated = true;

        if (explicitOutput) {
            p.output = u.outputTokens();
        } else if (maxTokens == 0) {
            p.output = 0;
        } else {
            p.output = (int) Math.max(1, consumed);
        }
        p.input = u != null && u.inputTokens() != null ? u.inputTokens()
                : (int) Math.min(Integer.MAX_VALUE, countInputTokens(request) + hostedTokens);
        if (u != null) {
            p.cacheWrite5m = u.cacheWrite5m();
            p.cacheWrite1h = u.cacheWrite1h();
            p.cacheRead = u.cacheRead();
            p.webSearch = u.webSearchRequests();
            p.webFetch = u.webFetchRequests();
        }
        boolean hasTool = p.blocks.stream().anyMatch(b -> b.kind().equals("tool_use"));
        if (sc.stopReason != null) p.stopReason = sc.stopReason;
        else if (truncated) p.stopReason = "max_tokens";
        else if (hasTool) p.stopReason = "tool_use";
        else p.stopReason = "end_turn";
        p.stopSequence = sc.stopSequence;
        p.serviceTier = sc.serviceTier;
        p.legacy = sc.legacyUsage;
        p.omitBreakdown = sc.omitCacheCreationBreakdown;
        p.newerFields = sc.newerFields;
        p.inferenceGeo = request.path("inference_geo").textValue();
        String requestedSpeed = request.path("speed").textValue();
        p.speed = requestedSpeed == null ? null : sc.appliedSpeed != null ? sc.appliedSpeed : requestedSpeed;
        return p;
    }

    /**
     * Code execution's blocks (code_execution_20250825): the server_tool_use that ran a command and its
     * bash_code_execution_tool_result naming each file written, which the fake's Files API then serves.
     */
    private void codeExecution(Plan p, Scenario.CodeExecution run) {
        String toolId = "srvtoolu_01" + randomBase62(22);
        String command = "{\"command\":\"python make_report.py\"}";
        p.blocks.add(new Block("server_tool_use", null, null, toolId, "bash_code_execution", command,
                NODES.objectNode().put("command", "python make_report.py")));
        p.blocks.add(new Block("bash_code_execution_tool_result", null, null, null, null, null,
                bashResult(toolId, run.fileIds())));
        p.containerId = run.containerId();
    }

    /** A bash_code_execution_tool_result naming {@code fileIds}, each then a downloadable file of {@link #files}. */
    ObjectNode bashResult(String toolUseId, List<String> fileIds) {
        ObjectNode result = NODES.objectNode();
        result.put("type", "bash_code_execution_tool_result").put("tool_use_id", toolUseId);
        ObjectNode content = result.putObject("content");
        content.put("type", "bash_code_execution_result").put("stdout", "report written\n").put("stderr", "")
                .put("return_code", 0);
        ArrayNode outputs = content.putArray("content");
        for (String fileId : fileIds) {
            outputs.addObject().put("type", "bash_code_execution_output").put("file_id", fileId);
            files.generated(fileId, "report.csv", ("id,total\n" + fileId + ",42\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return result;
    }

    static int countWords(String s) {
        Matcher m = WORD.matcher(s);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    /** Prefix of {@code s} up to the end of its {@code n}-th word (original spacing kept). */
    static String firstWords(String s, int n) {
        if (n <= 0) return "";
        Matcher m = WORD.matcher(s);
        int end = 0;
        int seen = 0;
        while (seen < n && m.find()) {
            end = m.end();
            seen++;
        }
        return seen < n ? s : (countWords(s) == n ? s : s.substring(0, end));
    }

    /** Word-ish delta chunks: each chunk is leading whitespace + one word; trailing whitespace goes to the last. */
    static List<String> wordChunks(String s) {
        List<String> chunks = new ArrayList<>();
        Matcher m = WORD_CHUNK.matcher(s);
        int last = 0;
        while (m.find()) {
            chunks.add(m.group());
            last = m.end();
        }
        if (chunks.isEmpty()) {
            chunks.add(s);
        } else if (last < s.length()) {
            chunks.set(chunks.size() - 1, chunks.get(chunks.size() - 1) + s.substring(last));
        }
        return chunks;
    }

    // ------------------------------------------------------------------ streaming

    private sealed interface Item permits Emit, Wait, Pause, ErrorEnd, Drop { }
    private record Emit(String event, String data, boolean delta) implements Item { }
    private record Wait(long millis) implements Item { }
    private record Pause(java.util.concurrent.CountDownLatch latch) implements Item { }
    private record ErrorEnd(String data) implements Item { }
    private record Drop() implements Item { }

    private List<Item> streamItems(Plan p) {
        Scenario sc = p.scenario;
        List<Item> items = new ArrayList<>();

        ObjectNode start = NODES.objectNode();
        start.put("type", "message_start");
        ObjectNode msg = start.putObject("message");
        msg.put("id", p.messageId);
        msg.put("type", "message");
        msg.put("role", "assistant");
        msg.put("model", p.model);
        msg.putArray("content");
        msg.putNull("stop_reason");
        msg.putNull("stop_sequence");
        msg.set("usage", p.fullUsage(p.output == 0 ? 0 : 1, false));
        items.add(new Emit("message_start", write(start), false));
        if (sc.pauseAfterMessageStart != null) items.add(new Pause(sc.pauseAfterMessageStart));

        long delayMs = sc.deltaDelay.toMillis();
        boolean firstDelta = true;
        for (int i = 0; i < p.blocks.size(); i++) {
            Block b = p.blocks.get(i);
            ObjectNode cbs = NODES.objectNode();
            cbs.put("type", "content_block_start");
            cbs.put("index", i);
            ObjectNode initial = cbs.putObject("content_block");
            initial.put("type", b.kind());
            List<ObjectNode> deltas = new ArrayList<>();
            if (b.kind().endsWith("_tool_result")) {
                // A server tool's result comes whole in its content_block_start, with no deltas.
                initial.setAll((ObjectNode) b.toolInput().deepCopy());
            } else switch (b.kind()) {
                case "text" -> {
                    initial.put("text", "");
                    for (String chunk : wordChunks(b.text())) {
                        ObjectNode d = NODES.objectNode();
                        d.put("type", "text_delta");
                        d.put("text", chunk);
                        deltas.add(d);
                    }
                }
                case "thinking" -> {
                    initial.put("thinking", "");
                    initial.put("signature", "");
                    if (!b.text().isEmpty()) {
                        for (String chunk : wordChunks(b.text())) {
                            ObjectNode d = NODES.objectNode();
                            d.put("type", "thinking_delta");
                            d.put("thinking", chunk);
                            deltas.add(d);
                        }
                    }
                    ObjectNode sig = NODES.objectNode();
                    sig.put("type", "signature_delta");
                    sig.put("signature", b.signature());
                    deltas.add(sig);
                }
                default -> {
                    initial.put("id", b.toolId());
                    initial.put("name", b.toolName());
                    initial.putObject("input");
                    List<String> fragments = new ArrayList<>();
                    fragments.add("");
                    String json = b.toolJson();
                    for (int k = 0; k < json.length(); k += 12) {
                        fragments.add(json.substring(k, Math.min(json.length(), k + 12)));
                    }
                    for (String f : fragments) {
                        ObjectNode d = NODES.objectNode();
                        d.put("type", "input_json_delta");
                        d.put("partial_json", f);
                        deltas.add(d);
                    }
                }
            }
            items.add(new Emit("content_block_start", write(cbs), false));
            if (i == 0) items.add(new Emit("ping", "{\"type\": \"ping\"}", false));
            for (ObjectNode d : deltas) {
                if (!firstDelta && delayMs > 0) items.add(new Wait(delayMs));
                firstDelta = false;
                ObjectNode cbd = NODES.objectNode();
                cbd.put("type", "content_block_delta");
                cbd.put("index", i);
                cbd.set("delta", d);
                items.add(new Emit("content_block_delta", write(cbd), true));
            }
            // padded before the final brace, as seen in real traffic (§3.1)
            items.add(new Emit("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" + i + "          }", false));
        }

        ObjectNode md = NODES.objectNode();
        md.put("type", "message_delta");
        ObjectNode delta = md.putObject("delta");
        delta.put("stop_reason", p.stopReason);
        if (p.stopSequence == null) delta.putNull("stop_sequence"); else delta.put("stop_sequence", p.stopSequence);
        if (p.newerFields) delta.putNull("stop_details");
        if (p.containerId != null) delta.set("container", p.container());
        md.set("usage", p.deltaUsage());
        int messageDeltaIndex = items.size();
        items.add(new Emit("message_delta", write(md), false));
        items.add(new Emit("message_stop", "{\"type\":\"message_stop\"}", false));

        Item terminal = null;
        int after = -1;
        if (sc.midStreamErrorType != null) {
            ObjectNode err = NODES.objectNode();
            err.put("type", "error");
            ObjectNode inner = err.putObject("error");
            inner.put("type", sc.midStreamErrorType);
            inner.put("message", sc.midStreamErrorMessage);
            terminal = new ErrorEnd(write(err));
            after = sc.midStreamErrorAfterDeltas;
        } else if (sc.dropAfterDeltas >= 0) {
            terminal = new Drop();
            after = sc.dropAfterDeltas;
        }
        if (terminal != null) {
            int cut = messageDeltaIndex;
            if (after == 0) {
                cut = sc.pauseAfterMessageStart != null ? 2 : 1;
            } else {
                int seen = 0;
                for (int k = 0; k < items.size(); k++) {
                    if (items.get(k) instanceof Emit e && e.delta() && ++seen == after) {
                        cut = k + 1;
                        break;
                    }
                }
            }
            items = new ArrayList<>(items.subList(0, cut));
            items.add(terminal);
        }
        return items;
    }

    private void stream(Exchange ex, Plan plan) {
        List<Item> items = streamItems(plan);
        ex.commonHeaders("text/event-stream; charset=utf-8");
        if (items.get(items.size() - 1) instanceof ErrorEnd) {
            // the connection is closed after the error event: announce it, so that clients do not put the
            // connection back into their pool and race against the close
            ex.resp.putHeader("connection", "close");
        }
        ex.resp.setStatusCode(200);
        ex.resp.setChunked(true);
        Context ctx = vertx.getOrCreateContext();
        run(ex, items, 0, ctx);
    }

    private static String sse(String event, String data) {
        return "event: " + event + "\ndata: " + data + "\n\n";
    }

    private void run(Exchange ex, List<Item> items, int i, Context ctx) {
        if (ex.clientGone) return;
        if (i == items.size()) {
            completedStreams.incrementAndGet();
            ex.resp.end();
            return;
        }
        Item item = items.get(i);
        if (item instanceof Emit e) {
            // one write per event; the future completes once it has been flushed to the socket
            ex.resp.write(sse(e.event(), e.data())).onComplete(ar -> {
                if (ar.succeeded()) run(ex, items, i + 1, ctx);
            });
        } else if (item instanceof Wait w) {
            vertx.setTimer(Math.max(1, w.millis()), id -> run(ex, items, i + 1, ctx));
        } else if (item instanceof Pause p) {
            Thread.ofVirtual().name("fake-upstream-pause").start(() -> {
                try {
                    p.latch().await(10, TimeUnit.MINUTES);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                ctx.runOnContext(v -> run(ex, items, i + 1, ctx));
            });
        } else if (item instanceof ErrorEnd err) {
            ex.resp.write(sse("error", err.data()))
                    .compose(v -> ex.resp.end())
                    .onComplete(ar -> ex.req.connection().close());
        } else if (item instanceof Drop) {
            ex.req.connection().close();
        }
    }

    // ------------------------------------------------------------------ helpers

    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String randomBase62(int n) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) sb.append(BASE62.charAt(r.nextInt(BASE62.length())));
        return sb.toString();
    }

    private static String signature() {
        byte[] bytes = new byte[96];
        SIGNATURE_RANDOM.nextBytes(bytes);
        return "EqQBCgIYAhIM" + Base64.getEncoder().encodeToString(bytes);
    }

}
