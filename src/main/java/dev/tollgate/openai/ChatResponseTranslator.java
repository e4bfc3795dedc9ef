package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Translates a non-streaming Anthropic Messages response into an OpenAI {@code chat.completion} object
 * (digest §8.2 / §8.4). Also hosts the stop-reason and usage mappings shared with {@link ChatStreamTranslator}.
 */
public final class ChatResponseTranslator {

    static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private ChatResponseTranslator() {
    }

    /**
     * @param anthropicMessage     the Anthropic message object ({@code type:"message"})
     * @param requestedModel       the model name the client asked for (echoed as {@code model})
     * @param createdEpochSeconds  gateway clock, echoed as {@code created}
     */
    public static ObjectNode toChatCompletion(JsonNode anthropicMessage, String requestedModel, long createdEpochSeconds) {
        ObjectNode out = F.objectNode();
        out.put("id", completionId(anthropicMessage.path("id").asText("")));
        out.put("object", "chat.completion");
        out.put("created", createdEpochSeconds);
        out.put("model", requestedModel);

        StringBuilder text = new StringBuilder();
        boolean sawText = false;
        ArrayNode toolCalls = F.arrayNode();
        for (JsonNode block : anthropicMessage.path("content")) {
            String type = block.path("type").asText();
            if ("text".equals(type)) {
                sawText = true;
                text.append(block.path("text").asText(""));
            } else if ("tool_use".equals(type)) {
                ObjectNode call = toolCalls.addObject();
                call.put("id", block.path("id").asText());
                call.put("type", "function");
                ObjectNode fn = call.putObject("function");
                fn.put("name", block.path("name").asText());
                JsonNode input = block.get("input");
                fn.put("arguments", input == null || input.isNull() ? "{}" : toJson(input));
            }
            // thinking, redacted_thinking, server tool blocks: not representable, dropped
        }

        ObjectNode choice = out.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        if (text.isEmpty() && !toolCalls.isEmpty()) {
            message.putNull("content");
        } else {
            message.put("content", text.toString());
        }
        message.putNull("refusal");
        if (!toolCalls.isEmpty()) {
            message.set("tool_calls", toolCalls);
        }
        choice.putNull("logprobs");
        String finish = finishReason(anthropicMessage.path("stop_reason").asText(null));
        choice.put("finish_reason", finish);

        out.set("usage", toOpenAiUsage(anthropicMessage.path("usage")));
        return out;
    }

    /** {@code chatcmpl-} + the Anthropic message id. */
    static String completionId(String messageId) {
        return "chatcmpl-" + (messageId == null ? "" : messageId);
    }

    /**
     * Anthropic {@code stop_reason} → OpenAI {@code finish_reason}: end_turn/stop_sequence/pause_turn → stop,
     * max_tokens/model_context_window_exceeded → length, tool_use → tool_calls, refusal → content_filter.
     * {@code null} → {@code null}; any other (future) value → stop.
     */
    public static String finishReason(String stopReason) {
        if (stopReason == null) {
            return null;
        }
        return switch (stopReason) {
            case "max_tokens", "model_context_window_exceeded" -> "length";
            case "tool_use" -> "tool_calls";
            case "refusal" -> "content_filter";
            default -> "stop"; // end_turn, stop_sequence, pause_turn, unknown
        };
    }

    /**
     * Anthropic {@code usage} → OpenAI {@code usage}; missing or null counters count as 0.
     * <pre>
     * prompt_tokens     = input_tokens + cache_creation_input_tokens + cache_read_input_tokens
     * completion_tokens = output_tokens
     * total_tokens      = prompt_tokens + completion_tokens
     * prompt_tokens_details     = {cached_tokens: cache_read, cache_write_tokens: cache_creation}
     * completion_tokens_details = {reasoning_tokens: output_tokens_details.thinking_tokens}
     * cache_creation_input_tokens, cache_read_input_tokens copied (Claude extension)
     * </pre>
     */
    public static ObjectNode toOpenAiUsage(JsonNode anthropicUsage) {
        JsonNode u = anthropicUsage == null ? F.objectNode() : anthropicUsage;
        return usage(count(u, "input_tokens"), count(u, "cache_creation_input_tokens"),
                count(u, "cache_read_input_tokens"), count(u, "output_tokens"),
                count(u.path("output_tokens_details"), "thinking_tokens"));
    }

    static ObjectNode usage(long input, long cacheCreation, long cacheRead, long output, long thinking) {
        long prompt = input + cacheCreation + cacheRead;
        ObjectNode usage = F.objectNode();
        usage.put("prompt_tokens", prompt);
        usage.put("completion_tokens", output);
        usage.put("total_tokens", prompt + output);
        ObjectNode ptd = usage.putObject("prompt_tokens_details");
        ptd.put("cached_tokens", cacheRead);
        ptd.put("cache_write_tokens", cacheCreation);
        usage.putObject("completion_tokens_details").put("reasoning_tokens", thinking);
        usage.put("cache_creation_input_tokens", cacheCreation);
        usage.put("cache_read_input_tokens", cacheRead);
        return usage;
    }

    static long count(JsonNode node, String field) {
        if (node == null) {
            return 0;
        }
        JsonNode v = node.get(field);
        return v != null && v.isNumber() ? v.asLong() : 0;
    }

    static String toJson(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
