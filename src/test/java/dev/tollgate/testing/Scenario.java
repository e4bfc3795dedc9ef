package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;

/**
 * Immutable description of how {@link FakeUpstream} answers one {@code POST /v1/messages}. Every fluent method
 * returns a modified copy, so a scenario can be reused and shared between threads.
 *
 * <p>Three kinds exist: a <b>reply</b> ({@link #reply(String)}, {@link #defaultReply()}), an HTTP <b>error</b>
 * ({@link #error(int, String, String)}, {@link #overloaded()}, {@link #rateLimited(int)}) and a <b>hang-up</b>
 * ({@link #hangUp()}). Streaming-only knobs (mid-stream error, pauses, delays) are ignored for non-streaming
 * requests.
 *
 * <p>Content order of a reply: optional thinking block, then the text block (omitted if the text is empty),
 * then the tool_use blocks in the order added.
 *
 * <p>Output tokens (unless {@link #usage(Usage)} sets them): words(thinking) + words(text) +
 * Σ ceil(len(toolInputJson) / 4), where words = whitespace-separated tokens; at least 1 unless max_tokens is 0.
 * Unless a usage override with explicit output tokens is given, the reply is truncated to the request's
 * {@code max_tokens} (blocks in order; a thinking/text block is cut word-wise, a tool_use block that does not fit
 * is dropped) and the stop reason becomes {@code max_tokens}.
 */
public final class Scenario {

    enum Kind { REPLY, ERROR, HANGUP }

    /** A tool_use block: {@code id} null means "generate toolu_...". */
    record ToolUse(String id, String name, String inputJson, JsonNode input) { }

    /** Code execution ran in {@code containerId} and wrote {@code fileIds} (digest §6.4: downloadable files). */
    record CodeExecution(String containerId, List<String> fileIds) { }

    private static final ObjectMapper MAPPER = new ObjectMapper();

    final Kind kind;
    final String text;                   // null = default deterministic reply
    final Usage usage;                   // null = computed
    final boolean omitCacheCreationBreakdown;
    final boolean legacyUsage;
    final String stopReason;             // null = derived
    final String stopSequence;
    final String model;                  // null = resolved from request
    final String serviceTier;
    final int errorStatus;
    final String errorType;
    final String errorMessage;
    final Map<String, String> headers;
    final String midStreamErrorType;
    final String midStreamErrorMessage;
    final int midStreamErrorAfterDeltas; // -1 = none
    final int dropAfterDeltas;           // -1 = none
    final CountDownLatch pauseAfterMessageStart;
    final Duration deltaDelay;
    final List<ToolUse> toolUses;
    final String thinking;
    final Duration delayBeforeHeaders;
    final boolean newerFields;
    final String appliedSpeed;           // null = the request's speed
    final Duration bodyStall;
    final CodeExecution codeExecution;   // null = none

    private Scenario(Kind kind, String text, Usage usage, boolean omitCacheCreationBreakdown, boolean legacyUsage,
                     String stopReason, String stopSequence, String model, String serviceTier, int errorStatus,
                     String errorType, String errorMessage, Map<String, String> headers, String midStreamErrorType,
                     String midStreamErrorMessage, int midStreamErrorAfterDeltas, int dropAfterDeltas,
                     CountDownLatch pauseAfterMessageStart, Duration deltaDelay, List<ToolUse> toolUses,
                     String thinking, Duration delayBeforeHeaders, boolean newerFields, String appliedSpeed,
                     Duration bodyStall, CodeExecution codeExecution) {
        this.kind = kind;
        this.text = text;
        this.usage = usage;
        this.omitCacheCreationBreakdown = omitCacheCreationBreakdown;
        this.legacyUsage = legacyUsage;
        this.stopReason = stopReason;
        this.stopSequence = stopSequence;
        this.model = model;
        this.serviceTier = serviceTier;
        this.errorStatus = errorStatus;
        this.errorType = errorType;
        this.errorMessage = errorMessage;
        this.headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        this.midStreamErrorType = midStreamErrorType;
        this.midStreamErrorMessage = midStreamErrorMessage;
        this.midStreamErrorAfterDeltas = midStreamErrorAfterDeltas;
        this.dropAfterDeltas = dropAfterDeltas;
        this.pauseAfterMessageStart = pauseAfterMessageStart;
        this.deltaDelay = deltaDelay;
        this.toolUses = List.copyOf(toolUses);
        this.thinking = thinking;
        this.delayBeforeHeaders = delayBeforeHeaders;
        this.newerFields = newerFields;
        this.appliedSpeed = appliedSpeed;
        this.bodyStall = bodyStall;
        this.codeExecution = codeExecution;
    }

    private static Scenario base(Kind kind) {
        return new Scenario(kind, null, null, false, false, null, null, null, "standard", 0, null, null, Map.of(),
                null, null, -1, -1, null, Duration.ZERO, List.of(), null, Duration.ZERO, false, null, Duration.ZERO, null);
    }

    /** Mutable copy helper. */
    private final class Copy {
        Kind kind = Scenario.this.kind;
        String text = Scenario.this.text;
        Usage usage = Scenario.this.usage;
        boolean omitCacheCreationBreakdown = Scenario.this.omitCacheCreationBreakdown;
        boolean legacyUsage = Scenario.this.legacyUsage;
        String stopReason = Scenario.this.stopReason;
        String stopSequence = Scenario.this.stopSequence;
        String model = Scenario.this.model;
        String serviceTier = Scenario.this.serviceTier;
        int errorStatus = Scenario.this.errorStatus;
        String errorType = Scenario.this.errorType;
        String errorMessage = Scenario.this.errorMessage;
        Map<String, String> headers = new LinkedHashMap<>(Scenario.this.headers);
        String midStreamErrorType = Scenario.this.midStreamErrorType;
        String midStreamErrorMessage = Scenario.this.midStreamErrorMessage;
        int midStreamErrorAfterDeltas = Scenario.this.midStreamErrorAfterDeltas;
        int dropAfterDeltas = Scenario.this.dropAfterDeltas;
        CountDownLatch pause = Scenario.this.pauseAfterMessageStart;
        Duration deltaDelay = Scenario.this.deltaDelay;
        List<ToolUse> toolUses = new ArrayList<>(Scenario.this.toolUses);
        String thinking = Scenario.this.thinking;
        Duration delayBeforeHeaders = Scenario.this.delayBeforeHeaders;
        boolean newerFields = Scenario.this.newerFields;
        String appliedSpeed = Scenario.this.appliedSpeed;
        Duration bodyStall = Scenario.this.bodyStall;
        CodeExecution codeExecution = Scenario.this.codeExecution;

        Scenario build() {
            return new Scenario(kind, text, usage, omitCacheCreationBreakdown, legacyUsage, stopReason, stopSequence,
                    model, serviceTier, errorStatus, errorType, errorMessage, headers, midStreamErrorType,
                    midStreamErrorMessage, midStreamErrorAfterDeltas, dropAfterDeltas, pause, deltaDelay, toolUses,
                    thinking, delayBeforeHeaders, newerFields, appliedSpeed, bodyStall, codeExecution);
        }
    }

    private void requireReply(String knob) {
        if (kind != Kind.REPLY) {
            throw new IllegalStateException(knob + " only applies to reply scenarios, not " + kind);
        }
    }

    // ---------------------------------------------------------------- factories

    /** A text reply with exactly this text (may be empty: then no text block is emitted). */
    public static Scenario reply(String text) {
        Copy c = base(Kind.REPLY).new Copy();
        c.text = Objects.requireNonNull(text, "text");
        return c.build();
    }

    /** The default behaviour ({@link FakeUpstream#DEFAULT_REPLY}, computed usage); useful as a base for knobs. */
    public static Scenario defaultReply() {
        return base(Kind.REPLY);
    }

    /**
     * An HTTP error with the real envelope {@code {"type":"error","error":{"type":..,"message":..},"request_id":"req_.."}}.
     */
    public static Scenario error(int status, String errorType, String message) {
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("error status must be 4xx/5xx: " + status);
        }
        Copy c = base(Kind.ERROR).new Copy();
        c.errorStatus = status;
        c.errorType = Objects.requireNonNull(errorType);
        c.errorMessage = Objects.requireNonNull(message);
        return c.build();
    }

    /** 529 {@code overloaded_error} "Overloaded" (no retry-after, as commonly observed). */
    public static Scenario overloaded() {
        return error(529, "overloaded_error", "Overloaded");
    }

    /** 429 {@code rate_limit_error} with the real message text and a {@code retry-after} header. */
    public static Scenario rateLimited(int retryAfterSeconds) {
        return error(429, "rate_limit_error", "This request would exceed the rate limit for your organization "
                + "(" + FakeUpstream.ORGANIZATION_ID + ") of 30,000 input tokens per minute. For details, refer to: "
                + "https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. "
                + "Please reduce the prompt length or the maximum tokens requested, or try again later. You may also "
                + "contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit "
                + "increase.").header("retry-after", Integer.toString(retryAfterSeconds));
    }

    /** Read the whole request, then close the TCP connection without sending any response bytes. */
    public static Scenario hangUp() {
        return base(Kind.HANGUP);
    }

    /** The default reply, but status line and headers are sent only after {@code d}. */
    public static Scenario delayBeforeHeaders(Duration d) {
        return defaultReply().headersDelay(d);
    }

    // ---------------------------------------------------------------- knobs

    /** Wait {@code d} before sending status/headers (any kind; for hang-up: before closing). */
    public Scenario headersDelay(Duration d) {
        Copy c = new Copy();
        c.delayBeforeHeaders = Objects.requireNonNull(d);
        return c.build();
    }

    /** Extra response header (any kind), e.g. {@code retry-after}. */
    public Scenario header(String name, String value) {
        Copy c = new Copy();
        c.headers.put(name.toLowerCase(java.util.Locale.ROOT), value);
        return c.build();
    }

    public Scenario usage(Usage u) {
        requireReply("usage");
        Copy c = new Copy();
        c.usage = Objects.requireNonNull(u);
        return c.build();
    }

    /** Usage without the {@code cache_creation} object (older responses): the gateway must infer the TTL split. */
    public Scenario omitCacheCreationBreakdown() {
        requireReply("omitCacheCreationBreakdown");
        Copy c = new Copy();
        c.omitCacheCreationBreakdown = true;
        return c.build();
    }

    /** Usage with only {@code input_tokens}/{@code output_tokens} (2024 shape), in JSON and in the stream. */
    public Scenario legacyUsage() {
        requireReply("legacyUsage");
        Copy c = new Copy();
        c.legacyUsage = true;
        return c.build();
    }

    public Scenario stopReason(String reason) {
        requireReply("stopReason");
        Copy c = new Copy();
        c.stopReason = Objects.requireNonNull(reason);
        return c.build();
    }

    /** Sets {@code stop_reason:"stop_sequence"} and {@code stop_sequence} to the given string. */
    public Scenario stopSequence(String sequence) {
        requireReply("stopSequence");
        Copy c = new Copy();
        c.stopReason = "stop_sequence";
        c.stopSequence = Objects.requireNonNull(sequence);
        return c.build();
    }

    /** The {@code model} string in the response (default: the dated id for the requested alias). */
    public Scenario model(String model) {
        requireReply("model");
        Copy c = new Copy();
        c.model = Objects.requireNonNull(model);
        return c.build();
    }

    /** {@code usage.service_tier} (default "standard"): "standard" | "priority" | "batch". */
    public Scenario serviceTier(String tier) {
        requireReply("serviceTier");
        Copy c = new Copy();
        c.serviceTier = Objects.requireNonNull(tier);
        return c.build();
    }

    /**
     * Streaming only: after {@code afterDeltas} content_block_delta events (0 = right after message_start), send
     * {@code event: error} with {@code {"type":"error","error":{"type":errorType,"message":message}}} and end the
     * stream and the connection WITHOUT message_delta/message_stop (digest §3.4). If the reply has fewer deltas,
     * the error comes right before where message_delta would have been.
     */
    public Scenario midStreamError(String errorType, String message, int afterDeltas) {
        requireReply("midStreamError");
        if (afterDeltas < 0) throw new IllegalArgumentException("afterDeltas < 0");
        Copy c = new Copy();
        c.midStreamErrorType = Objects.requireNonNull(errorType);
        c.midStreamErrorMessage = Objects.requireNonNull(message);
        c.midStreamErrorAfterDeltas = afterDeltas;
        return c.build();
    }

    /**
     * Streaming only: after {@code afterDeltas} content_block_delta events, abort the TCP connection abruptly
     * (no error event, no terminating chunk). Simulates a network failure mid-stream.
     */
    public Scenario dropConnectionAfterDeltas(int afterDeltas) {
        requireReply("dropConnectionAfterDeltas");
        if (afterDeltas < 0) throw new IllegalArgumentException("afterDeltas < 0");
        Copy c = new Copy();
        c.dropAfterDeltas = afterDeltas;
        return c.build();
    }

    /** Streaming only: send (and flush) message_start, then wait until {@code release} reaches zero. */
    public Scenario pauseAfterMessageStart(CountDownLatch release) {
        requireReply("pauseAfterMessageStart");
        Copy c = new Copy();
        c.pause = Objects.requireNonNull(release);
        return c.build();
    }

    /** Streaming only: wait {@code d} between consecutive content_block_delta events. */
    public Scenario deltaDelay(Duration d) {
        requireReply("deltaDelay");
        Copy c = new Copy();
        c.deltaDelay = Objects.requireNonNull(d);
        return c.build();
    }

    /**
     * Non-streaming only: send the status line, the headers (with the full {@code content-length}) and the first
     * half of the Message's JSON at once, then the rest after {@code d}: a body that stalls after its head.
     */
    public Scenario bodyStall(Duration d) {
        requireReply("bodyStall");
        Copy c = new Copy();
        c.bodyStall = Objects.requireNonNull(d);
        return c.build();
    }

    /** Adds a tool_use block (id generated); {@code inputJson} must be a JSON object. Stop reason becomes tool_use. */
    public Scenario toolUse(String name, String inputJson) {
        return toolUse(null, name, inputJson);
    }

    /** Adds a tool_use block with a fixed id ({@code toolu_...}). */
    public Scenario toolUse(String id, String name, String inputJson) {
        requireReply("toolUse");
        JsonNode input;
        try {
            input = MAPPER.readTree(inputJson);
        } catch (Exception e) {
            throw new IllegalArgumentException("tool input is not JSON: " + inputJson, e);
        }
        if (input == null || !input.isObject()) {
            throw new IllegalArgumentException("tool input must be a JSON object: " + inputJson);
        }
        Copy c = new Copy();
        c.toolUses.add(new ToolUse(id, Objects.requireNonNull(name), inputJson, input));
        return c.build();
    }

    /**
     * The reply ran code execution (code_execution_20250825) in container {@code containerId}: after
     * the text, a {@code server_tool_use} block ({@code bash_code_execution}) and its
     * {@code bash_code_execution_tool_result} naming each of {@code fileIds} as a
     * {@code bash_code_execution_output}; the message carries {@code "container": {"id", "expires_at"}}
     * (a stream: in message_delta's delta). The files become downloadable files of {@link FakeFiles}.
     */
    public Scenario codeExecution(String containerId, String... fileIds) {
        requireReply("codeExecution");
        Copy c = new Copy();
        c.codeExecution = new CodeExecution(Objects.requireNonNull(containerId), List.of(fileIds));
        return c.build();
    }

    /** Adds a thinking block (first in content), streamed as thinking_delta chunks plus one signature_delta. */
    public Scenario thinking(String thinkingText) {
        requireReply("thinking");
        Copy c = new Copy();
        c.thinking = Objects.requireNonNull(thinkingText);
        return c.build();
    }

    /**
     * Adds the newer (2026) fields seen on the wire (digest §2.1, §3.3): {@code "container": null} and
     * {@code "stop_details": null} in the Message, {@code usage.inference_geo: "global"}, and
     * {@code "stop_details": null} in the message_delta {@code delta}. Proves the gateway tolerates new fields.
     */
    public Scenario newerFields() {
        requireReply("newerFields");
        Copy c = new Copy();
        c.newerFields = true;
        return c.build();
    }

    /**
     * {@code usage.speed} for a request that sent {@code speed} (default: the speed it asked for): "standard"
     * models the API serving a fast request at standard speed, as it does for a model whose fast mode was removed.
     */
    public Scenario appliedSpeed(String speed) {
        requireReply("appliedSpeed");
        Copy c = new Copy();
        c.appliedSpeed = Objects.requireNonNull(speed);
        return c.build();
    }

    @Override
    public String toString() {
        return switch (kind) {
            case ERROR -> "Scenario.error(" + errorStatus + ", " + errorType + ", " + errorMessage + ")";
            case HANGUP -> "Scenario.hangUp()";
            case REPLY -> "Scenario.reply(" + (text == null ? "<default>" : '"' + text + '"') + ", tools=" + toolUses.size()
                    + (thinking != null ? ", thinking" : "") + (usage != null ? ", " + usage : "") + ")";
        };
    }
}
