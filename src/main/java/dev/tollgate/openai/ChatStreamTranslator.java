package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Stateful translator from one Anthropic SSE stream to OpenAI {@code chat.completion.chunk} frames
 * (digest §3, §8.3, §8.4 streaming table). One instance per stream; not thread-safe.
 *
 * <ul>
 *   <li>{@code message_start} → first chunk {@code delta:{"role":"assistant","content":""}}; remembers the id and
 *       the input-side usage.</li>
 *   <li>{@code text_delta} → {@code delta:{"content":text}} (empty texts skipped).</li>
 *   <li>{@code content_block_start} of a {@code tool_use} block → {@code tool_calls} delta with index j (j-th tool
 *       call of the message, not the block index), id, type, name and {@code arguments:""}.</li>
 *   <li>{@code input_json_delta} → {@code tool_calls} arguments fragment (empty fragments skipped).</li>
 *   <li>{@code message_delta} → {@code delta:{}} with the mapped finish_reason; its cumulative usage replaces the
 *       remembered values field by field (last value wins, never summed).</li>
 *   <li>{@code message_stop} → usage chunk ({@code choices:[]}) when include_usage, then {@code data: [DONE]}.</li>
 *   <li>{@code error} → see {@link #onUpstreamError}. Thinking/signature/citation deltas, server tool blocks,
 *       {@code ping}, {@code content_block_stop} and unknown events produce nothing.</li>
 * </ul>
 * Every frame is exactly {@code "data: " + json + "\n\n"}. After {@code [DONE]} or an error frame, further
 * events are ignored.
 */
public final class ChatStreamTranslator {

    /** The terminating frame. */
    public static final String DONE_FRAME = "data: [DONE]\n\n";

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final String requestedModel;
    private final long created;
    private final boolean includeUsage;

    private String id = ChatResponseTranslator.completionId("");
    private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();
    private int nextToolIndex;
    private boolean finished;

    private long inputTokens;
    private long cacheCreationTokens;
    private long cacheReadTokens;
    private long outputTokens;
    private long thinkingTokens;

    public ChatStreamTranslator(String requestedModel, long created, boolean includeUsage) {
        this.requestedModel = requestedModel;
        this.created = created;
        this.includeUsage = includeUsage;
    }

    /**
     * @param eventName the SSE {@code event:} name (falls back to {@code data.type} when null)
     * @param data      the parsed {@code data:} JSON
     * @return zero or more complete SSE frames
     */
    public List<String> onEvent(String eventName, JsonNode data) {
        List<String> frames = new ArrayList<>();
        if (finished) {
            return frames;
        }
        String name = eventName != null ? eventName : (data == null ? "" : data.path("type").asText(""));
        if (data == null) {
            data = F.objectNode();
        }
        switch (name) {
            case "message_start" -> {
                JsonNode message = data.path("message");
                id = ChatResponseTranslator.completionId(message.path("id").asText(""));
                updateUsage(message.path("usage"));
                ObjectNode delta = F.objectNode();
                delta.put("role", "assistant");
                delta.put("content", "");
                frames.add(frame(chunk(delta, null)));
            }
            case "content_block_start" -> {
                JsonNode block = data.path("content_block");
                String type = block.path("type").asText("");
                if ("tool_use".equals(type)) {
                    int j = nextToolIndex++;
                    toolIndexByBlock.put(data.path("index").asInt(), j);
                    ObjectNode call = F.objectNode();
                    call.put("index", j);
                    call.put("id", block.path("id").asText());
                    call.put("type", "function");
                    ObjectNode fn = call.putObject("function");
                    fn.put("name", block.path("name").asText());
                    fn.put("arguments", "");
                    ObjectNode delta = F.objectNode();
                    delta.putArray("tool_calls").add(call);
                    frames.add(frame(chunk(delta, null)));
                } else if ("text".equals(type)) {
                    String text = block.path("text").asText("");
                    if (!text.isEmpty()) {
                        frames.add(frame(chunk(F.objectNode().put("content", text), null)));
                    }
                }
            }
            case "content_block_delta" -> {
                JsonNode delta = data.path("delta");
                String type = delta.path("type").asText("");
                if ("text_delta".equals(type)) {
                    String text = delta.path("text").asText("");
                    if (!text.isEmpty()) {
                        frames.add(frame(chunk(F.objectNode().put("content", text), null)));
                    }
                } else if ("input_json_delta".equals(type)) {
                    Integer j = toolIndexByBlock.get(data.path("index").asInt());
                    String partial = delta.path("partial_json").asText("");
                    if (j != null && !partial.isEmpty()) {
                        ObjectNode call = F.objectNode();
                        call.put("index", j);
                        call.putObject("function").put("arguments", partial);
                        ObjectNode d = F.objectNode();
                        d.putArray("tool_calls").add(call);
                        frames.add(frame(chunk(d, null)));
                    }
                }
            }
            case "message_delta" -> {
                updateUsage(data.path("usage"));
                String finish = ChatResponseTranslator.finishReason(data.path("delta").path("stop_reason").asText(null));
                frames.add(frame(chunk(F.objectNode(), finish)));
            }
            case "message_stop" -> {
                if (includeUsage) {
                    ObjectNode usageChunk = base();
                    usageChunk.putArray("choices");
                    usageChunk.set("usage", ChatResponseTranslator.usage(inputTokens, cacheCreationTokens,
                            cacheReadTokens, outputTokens, thinkingTokens));
                    frames.add(frame(usageChunk));
                }
                frames.add(DONE_FRAME);
                finished = true;
            }
            case "error" -> frames.addAll(onUpstreamError(data));
            default -> {
                // ping, content_block_stop, unknown future events: nothing to emit
            }
        }
        return frames;
    }

    /**
     * A mid-stream Anthropic {@code error} event → one OpenAI error frame {@code data: {"error":{...}}}. No
     * {@code [DONE]} follows; the caller should close the stream. Type/code follow {@link OpenAiErrors}, with the
     * status derived from the Anthropic error type.
     */
    public List<String> onUpstreamError(JsonNode errorEventData) {
        List<String> frames = new ArrayList<>();
        if (finished) {
            return frames;
        }
        finished = true;
        frames.add(frame(OpenAiErrors.fromAnthropicError(errorEventData)));
        return frames;
    }

    /** Whether {@code [DONE]} or an error frame has been emitted. */
    public boolean isFinished() {
        return finished;
    }

    private void updateUsage(JsonNode usage) {
        if (usage == null || !usage.isObject()) {
            return;
        }
        inputTokens = replace(usage, "input_tokens", inputTokens);
        cacheCreationTokens = replace(usage, "cache_creation_input_tokens", cacheCreationTokens);
        cacheReadTokens = replace(usage, "cache_read_input_tokens", cacheReadTokens);
        outputTokens = replace(usage, "output_tokens", outputTokens);
        thinkingTokens = replace(usage.path("output_tokens_details"), "thinking_tokens", thinkingTokens);
    }

    private static long replace(JsonNode node, String field, long current) {
        JsonNode v = node.get(field);
        return v != null && v.isNumber() ? v.asLong() : current;
    }

    private ObjectNode base() {
        ObjectNode c = F.objectNode();
        c.put("id", id);
        c.put("object", "chat.completion.chunk");
        c.put("created", created);
        c.put("model", requestedModel);
        return c;
    }

    private ObjectNode chunk(ObjectNode delta, String finishReason) {
        ObjectNode c = base();
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        choice.set("delta", delta);
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        if (includeUsage) {
            c.putNull("usage");
        }
        return c;
    }

    private static String frame(JsonNode json) {
        return "data: " + ChatResponseTranslator.toJson(json) + "\n\n";
    }
}
