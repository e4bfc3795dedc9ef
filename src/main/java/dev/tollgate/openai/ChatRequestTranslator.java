package dev.tollgate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Translates an OpenAI {@code chat.completions} request body into an Anthropic Messages request body
 * (digest §1, §8.1, §8.4). Pure function: no I/O, no CDI.
 *
 * <p>Summary of the mapping:
 * <ul>
 *   <li>{@code system}/{@code developer} messages (anywhere) are hoisted into top-level {@code system}: a string
 *       joined with {@code "\n"}, or, when any hoisted message or part carries {@code cache_control}, an array of
 *       text blocks (one per hoisted string message / text part).</li>
 *   <li>{@code user} → user turn; {@code assistant} → assistant turn (text blocks, then {@code tool_use} blocks);
 *       {@code tool} → {@code tool_result} block in a user turn. Consecutive same-role turns are merged; in a user
 *       turn the {@code tool_result} blocks always come first. A turn that is a single plain text block (no
 *       {@code cache_control}) is emitted as a string.</li>
 *   <li>{@code cache_control} on a message goes to the last block produced from it; on a content part, to the
 *       block produced from that part. Values are copied verbatim (ttl included).</li>
 *   <li>Max tokens: {@code max_completion_tokens}, else {@code max_tokens}, else
 *       {@link ModelCapabilities#maxOutputTokens()} (flagged as defaulted, so the gateway may lower it). {@code temperature} capped at 1. {@code top_p} copied.
 *       {@code stop} → {@code stop_sequences} (whitespace-only entries dropped). {@code user} →
 *       {@code metadata.user_id}. {@code n} must be 1.</li>
 *   <li>Tools, {@code tool_choice}, {@code parallel_tool_calls}, {@code response_format} as documented on the
 *       individual helpers.</li>
 *   <li>Anthropic-only top-level keys are passed through: {@value #PASSTHROUGH_DOC}. All other fields
 *       (OpenAI-only or unknown) are ignored silently.</li>
 * </ul>
 * Every rejection is an {@link OpenAiRequestException} (HTTP 400) whose {@code param} points at the offending field.
 */
public final class ChatRequestTranslator {

    static final String PASSTHROUGH_DOC =
            "thinking, top_k, output_config, cache_control, container, inference_geo, context_management, mcp_servers";

    /** Anthropic-only top-level keys copied verbatim (output_config is merged with response_format). */
    private static final List<String> PASSTHROUGH = List.of(
            "thinking", "top_k", "cache_control", "container", "inference_geo", "context_management", "mcp_servers");

    private static final Pattern DATA_URL = Pattern.compile("^data:([^;,]+);base64,(.*)$", Pattern.DOTALL);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private ChatRequestTranslator() {
    }

    public static TranslatedRequest toAnthropic(JsonNode openAiRequest, ModelCapabilities caps)
            throws OpenAiRequestException {
        if (openAiRequest == null || !openAiRequest.isObject()) {
            throw new OpenAiRequestException(null, "The request body must be a JSON object.");
        }
        JsonNode req = openAiRequest;
        ObjectNode out = F.objectNode();

        JsonNode model = req.get("model");
        if (present(model)) {
            if (!model.isTextual()) {
                throw new OpenAiRequestException("model", "'model' must be a string.");
            }
            out.set("model", model.deepCopy());
        }

        Integer requestedMaxTokens = requestedMaxTokens(req);
        out.put("max_tokens", requestedMaxTokens != null ? requestedMaxTokens : caps.maxOutputTokens());

        translateMessages(req, out);

        JsonNode temperature = req.get("temperature");
        if (present(temperature)) {
            if (!temperature.isNumber() || temperature.asDouble() < 0) {
                throw new OpenAiRequestException("temperature", "'temperature' must be a number between 0 and 2.");
            }
            out.set("temperature", temperature.asDouble() > 1.0 ? F.numberNode(1.0) : temperature.deepCopy());
        }
        JsonNode topP = req.get("top_p");
        if (present(topP)) {
            if (!topP.isNumber()) {
                throw new OpenAiRequestException("top_p", "'top_p' must be a number.");
            }
            out.set("top_p", topP.deepCopy());
        }

        stop(req, out);

        JsonNode n = req.get("n");
        if (present(n) && !(n.isIntegralNumber() && n.asLong() == 1)) {
            throw new OpenAiRequestException("n", "Claude models only support n=1 (one choice per request).");
        }

        JsonNode user = req.get("user");
        if (present(user)) {
            if (!user.isTextual()) {
                throw new OpenAiRequestException("user", "'user' must be a string.");
            }
            if (!user.asText().isEmpty()) {
                out.putObject("metadata").put("user_id", user.asText());
            }
        }

        tools(req, out);

        for (String key : PASSTHROUGH) {
            JsonNode v = req.get(key);
            if (present(v)) {
                out.set(key, v.deepCopy());
            }
        }
        outputConfig(req, caps, out);

        boolean stream = false;
        JsonNode streamNode = req.get("stream");
        if (present(streamNode)) {
            if (!streamNode.isBoolean()) {
                throw new OpenAiRequestException("stream", "'stream' must be a boolean.");
            }
            stream = streamNode.asBoolean();
            out.put("stream", stream);
        }
        boolean includeUsage = req.path("stream_options").path("include_usage").asBoolean(false);

        return new TranslatedRequest(out, stream, includeUsage, requestedMaxTokens == null);
    }

    // ------------------------------------------------------------------ scalars

    /** The client's output limit, or null when it set none. */
    private static Integer requestedMaxTokens(JsonNode req) {
        for (String field : List.of("max_completion_tokens", "max_tokens")) {
            JsonNode v = req.get(field);
            if (present(v)) {
                if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
                    throw new OpenAiRequestException(field, "'" + field + "' must be a non-negative integer.");
                }
                return v.asInt();
            }
        }
        return null;
    }

    private static void stop(JsonNode req, ObjectNode out) {
        JsonNode stop = req.get("stop");
        if (!present(stop)) {
            return;
        }
        ArrayNode seqs = F.arrayNode();
        if (stop.isTextual()) {
            if (!stop.asText().isBlank()) {
                seqs.add(stop.asText());
            }
        } else if (stop.isArray()) {
            for (int i = 0; i < stop.size(); i++) {
                JsonNode s = stop.get(i);
                if (!s.isTextual()) {
                    throw new OpenAiRequestException("stop[" + i + "]", "Stop sequences must be strings.");
                }
                if (!s.asText().isBlank()) {
                    seqs.add(s.asText());
                }
            }
        } else {
            throw new OpenAiRequestException("stop", "'stop' must be a string or an array of strings.");
        }
        if (!seqs.isEmpty()) {
            out.set("stop_sequences", seqs);
        }
    }

    // ------------------------------------------------------------------ response_format / output_config

    /**
     * {@code response_format}: {@code text} → ignored; {@code json_schema} → {@code output_config.format =
     * {"type":"json_schema","schema":...}} (400 when the model lacks structured outputs); {@code json_object} → 400
     * unless structured outputs are supported, then a permissive {@code {"type":"object"}} schema. A native
     * {@code output_config} is copied; if it already has a {@code format}, that native format wins.
     */
    private static void outputConfig(JsonNode req, ModelCapabilities caps, ObjectNode out) {
        ObjectNode outputConfig = null;
        JsonNode native_ = req.get("output_config");
        if (present(native_)) {
            if (!native_.isObject()) {
                throw new OpenAiRequestException("output_config", "'output_config' must be an object.");
            }
            outputConfig = native_.deepCopy();
        }

        ObjectNode format = null;
        JsonNode rf = req.get("response_format");
        if (present(rf)) {
            if (!rf.isObject() || !rf.path("type").isTextual()) {
                throw new OpenAiRequestException("response_format", "'response_format' must be an object with a 'type'.");
            }
            String type = rf.get("type").asText();
            switch (type) {
                case "text" -> {
                }
                case "json_schema" -> {
                    if (!caps.structuredOutputs()) {
                        throw new OpenAiRequestException("response_format",
                                "response_format of type 'json_schema' is not supported by this model "
                                        + "(it does not support structured outputs).");
                    }
                    JsonNode schema = rf.path("json_schema").get("schema");
                    if (schema == null || !schema.isObject()) {
                        throw new OpenAiRequestException("response_format.json_schema.schema",
                                "response_format.json_schema.schema must be a JSON Schema object.");
                    }
                    format = F.objectNode();
                    format.put("type", "json_schema");
                    format.set("schema", schema.deepCopy());
                }
                case "json_object" -> {
                    if (!caps.structuredOutputs()) {
                        throw new OpenAiRequestException("response_format",
                                "response_format of type 'json_object' is not supported by this model; "
                                        + "ask for JSON in the prompt instead.");
                    }
                    format = F.objectNode();
                    format.put("type", "json_schema");
                    format.putObject("schema").put("type", "object");
                }
                default -> throw new OpenAiRequestException("response_format.type",
                        "Unsupported response_format type '" + type + "'.");
            }
        }

        if (format != null) {
            if (outputConfig == null) {
                outputConfig = F.objectNode();
            }
            if (!outputConfig.has("format")) {
                outputConfig.set("format", format);
            }
        }
        if (outputConfig != null) {
            out.set("output_config", outputConfig);
        }
    }

    // ------------------------------------------------------------------ tools

    /**
     * {@code tools[].function {name, description, parameters, strict}} → {@code {name, description, input_schema}}
     * ({@code input_schema} defaults to an empty object schema; {@code strict:true} copied; a {@code cache_control}
     * on the tool entry is copied). {@code tool_choice}: auto/none/required/function → auto/none/any/tool.
     * {@code parallel_tool_calls:false} → {@code disable_parallel_tool_use:true} on the tool_choice (an
     * {@code {"type":"auto"}} is created when tools are given without tool_choice; not added to {@code none}).
     */
    private static void tools(JsonNode req, ObjectNode out) {
        JsonNode tools = req.get("tools");
        boolean haveTools = false;
        if (present(tools)) {
            if (!tools.isArray()) {
                throw new OpenAiRequestException("tools", "'tools' must be an array.");
            }
            ArrayNode outTools = F.arrayNode();
            for (int i = 0; i < tools.size(); i++) {
                String param = "tools[" + i + "]";
                JsonNode tool = tools.get(i);
                if (!tool.isObject()) {
                    throw new OpenAiRequestException(param, "Each tool must be an object.");
                }
                JsonNode type = tool.get("type");
                if (present(type) && !"function".equals(type.asText())) {
                    throw new OpenAiRequestException(param + ".type",
                            "Unsupported tool type '" + type.asText() + "'; only 'function' tools are supported.");
                }
                JsonNode fn = tool.get("function");
                if (fn == null || !fn.isObject()) {
                    throw new OpenAiRequestException(param + ".function", "Tool is missing its 'function' object.");
                }
                JsonNode name = fn.get("name");
                if (name == null || !name.isTextual() || name.asText().isEmpty()) {
                    throw new OpenAiRequestException(param + ".function.name", "Tool function name is required.");
                }
                ObjectNode t = outTools.addObject();
                t.put("name", name.asText());
                JsonNode desc = fn.get("description");
                if (present(desc)) {
                    t.put("description", desc.asText());
                }
                JsonNode params = fn.get("parameters");
                if (present(params)) {
                    if (!params.isObject()) {
                        throw new OpenAiRequestException(param + ".function.parameters",
                                "Tool parameters must be a JSON Schema object.");
                    }
                    t.set("input_schema", params.deepCopy());
                } else {
                    ObjectNode schema = t.putObject("input_schema");
                    schema.put("type", "object");
                    schema.putObject("properties");
                }
                if (fn.path("strict").asBoolean(false)) {
                    t.put("strict", true);
                }
                JsonNode cc = cacheControl(tool, param + ".cache_control");
                if (cc != null) {
                    t.set("cache_control", cc);
                }
            }
            if (!outTools.isEmpty()) {
                out.set("tools", outTools);
                haveTools = true;
            }
        }

        ObjectNode choice = null;
        JsonNode tc = req.get("tool_choice");
        if (present(tc)) {
            choice = F.objectNode();
            if (tc.isTextual()) {
                switch (tc.asText()) {
                    case "auto" -> choice.put("type", "auto");
                    case "none" -> choice.put("type", "none");
                    case "required" -> choice.put("type", "any");
                    default -> throw new OpenAiRequestException("tool_choice",
                            "Invalid tool_choice '" + tc.asText() + "'; expected 'auto', 'none' or 'required'.");
                }
            } else if (tc.isObject() && "function".equals(tc.path("type").asText())
                    && tc.path("function").path("name").isTextual()) {
                choice.put("type", "tool");
                choice.put("name", tc.path("function").path("name").asText());
            } else {
                throw new OpenAiRequestException("tool_choice",
                        "Unsupported tool_choice; expected 'auto', 'none', 'required' or "
                                + "{\"type\":\"function\",\"function\":{\"name\":...}}.");
            }
        }

        JsonNode parallel = req.get("parallel_tool_calls");
        if (present(parallel) && parallel.isBoolean() && !parallel.asBoolean()) {
            if (choice == null && haveTools) {
                choice = F.objectNode().put("type", "auto");
            }
            if (choice != null && !"none".equals(choice.path("type").asText())) {
                choice.put("disable_parallel_tool_use", true);
            }
        }
        if (choice != null) {
            out.set("tool_choice", choice);
        }
    }

    // ------------------------------------------------------------------ messages

    /** One Anthropic turn under construction. */
    private static final class Turn {
        final String role;
        final List<ObjectNode> toolResults = new ArrayList<>();
        final List<ObjectNode> blocks = new ArrayList<>();

        Turn(String role) {
            this.role = role;
        }
    }

    private static void translateMessages(JsonNode req, ObjectNode out) {
        JsonNode messages = req.get("messages");
        if (messages == null || !messages.isArray()) {
            throw new OpenAiRequestException("messages", "'messages' must be an array.");
        }
        if (messages.isEmpty()) {
            throw new OpenAiRequestException("messages", "'messages' must contain at least one message.");
        }

        List<ObjectNode> system = new ArrayList<>();
        boolean systemCached = false;
        List<Turn> turns = new ArrayList<>();

        for (int i = 0; i < messages.size(); i++) {
            String mp = "messages[" + i + "]";
            JsonNode msg = messages.get(i);
            if (!msg.isObject()) {
                throw new OpenAiRequestException(mp, "Each message must be an object.");
            }
            JsonNode roleNode = msg.get("role");
            if (roleNode == null || !roleNode.isTextual()) {
                throw new OpenAiRequestException(mp + ".role", "Message role is required.");
            }
            String role = roleNode.asText();
            JsonNode cc = cacheControl(msg, mp + ".cache_control");
            switch (role) {
                case "system", "developer" -> {
                    List<ObjectNode> blocks = systemBlocks(msg, mp);
                    applyToLast(blocks, cc);
                    for (ObjectNode b : blocks) {
                        systemCached |= b.has("cache_control");
                    }
                    system.addAll(blocks);
                }
                case "user" -> {
                    JsonNode content = msg.get("content");
                    if (!present(content)) {
                        throw new OpenAiRequestException(mp + ".content", "User message content is required.");
                    }
                    List<ObjectNode> blocks = contentBlocks(content, mp + ".content", false);
                    applyToLast(blocks, cc);
                    turnFor(turns, "user").blocks.addAll(blocks);
                }
                case "assistant" -> {
                    List<ObjectNode> blocks = assistantBlocks(msg, mp);
                    applyToLast(blocks, cc);
                    if (!blocks.isEmpty()) {
                        turnFor(turns, "assistant").blocks.addAll(blocks);
                    }
                }
                case "tool" -> {
                    ObjectNode result = toolResult(msg, mp);
                    if (cc != null) {
                        result.set("cache_control", cc);
                    }
                    turnFor(turns, "user").toolResults.add(result);
                }
                case "function" -> throw new OpenAiRequestException(mp + ".role",
                        "The deprecated 'function' role is not supported; use 'tool' messages with tool_call_id.");
                default -> throw new OpenAiRequestException(mp + ".role", "Unsupported message role '" + role + "'.");
            }
        }

        if (!system.isEmpty()) {
            if (systemCached) {
                ArrayNode arr = out.putArray("system");
                system.forEach(arr::add);
            } else {
                StringBuilder sb = new StringBuilder();
                for (ObjectNode b : system) {
                    if (!sb.isEmpty()) {
                        sb.append('\n');
                    }
                    sb.append(b.get("text").asText());
                }
                out.put("system", sb.toString());
            }
        }

        ArrayNode outMessages = out.putArray("messages");
        for (Turn t : turns) {
            List<ObjectNode> all = new ArrayList<>(t.toolResults);
            all.addAll(t.blocks);
            ObjectNode m = outMessages.addObject();
            m.put("role", t.role);
            if (all.size() == 1 && isPlainText(all.get(0))) {
                m.put("content", all.get(0).get("text").asText());
            } else {
                ArrayNode c = m.putArray("content");
                all.forEach(c::add);
            }
        }
    }

    private static Turn turnFor(List<Turn> turns, String role) {
        if (!turns.isEmpty() && turns.get(turns.size() - 1).role.equals(role)) {
            return turns.get(turns.size() - 1);
        }
        Turn t = new Turn(role);
        turns.add(t);
        return t;
    }

    private static boolean isPlainText(ObjectNode block) {
        return "text".equals(block.path("type").asText()) && block.size() == 2;
    }

    private static void applyToLast(List<ObjectNode> blocks, JsonNode cacheControl) {
        if (cacheControl != null && !blocks.isEmpty()) {
            blocks.get(blocks.size() - 1).set("cache_control", cacheControl);
        }
    }

    /** System/developer content: string → one text block; parts → one text block per (non-empty) text part. */
    private static List<ObjectNode> systemBlocks(JsonNode msg, String mp) {
        JsonNode content = msg.get("content");
        List<ObjectNode> blocks = new ArrayList<>();
        if (content != null && content.isTextual()) {
            if (!content.asText().isEmpty()) {
                blocks.add(textBlock(content.asText()));
            }
        } else if (content != null && content.isArray()) {
            for (int j = 0; j < content.size(); j++) {
                String pp = mp + ".content[" + j + "]";
                JsonNode part = content.get(j);
                if (!part.isObject() || !"text".equals(part.path("type").asText())) {
                    throw new OpenAiRequestException(pp,
                            "Only 'text' content parts are supported in " + msg.path("role").asText() + " messages.");
                }
                String text = part.path("text").asText("");
                if (text.isEmpty()) {
                    continue;
                }
                ObjectNode b = textBlock(text);
                JsonNode cc = cacheControl(part, pp + ".cache_control");
                if (cc != null) {
                    b.set("cache_control", cc);
                }
                blocks.add(b);
            }
        } else {
            throw new OpenAiRequestException(mp + ".content",
                    "System/developer message content must be a string or an array of text parts.");
        }
        return blocks;
    }

    /**
     * User (or tool) content: string → one text block; array → one block per part.
     *
     * @param assistant when true, {@code refusal} parts are dropped and empty text is skipped
     */
    private static List<ObjectNode> contentBlocks(JsonNode content, String cp, boolean assistant) {
        List<ObjectNode> blocks = new ArrayList<>();
        if (content.isTextual()) {
            if (!(assistant && content.asText().isEmpty())) {
                blocks.add(textBlock(content.asText()));
            }
            return blocks;
        }
        if (!content.isArray()) {
            throw new OpenAiRequestException(cp, "Message content must be a string or an array of content parts.");
        }
        for (int j = 0; j < content.size(); j++) {
            String pp = cp + "[" + j + "]";
            JsonNode part = content.get(j);
            if (!part.isObject() || !part.path("type").isTextual()) {
                throw new OpenAiRequestException(pp, "Each content part must be an object with a 'type'.");
            }
            String type = part.get("type").asText();
            ObjectNode block;
            switch (type) {
                case "text" -> {
                    JsonNode text = part.get("text");
                    if (text == null || !text.isTextual()) {
                        throw new OpenAiRequestException(pp + ".text", "Text content part is missing 'text'.");
                    }
                    if (assistant && text.asText().isEmpty()) {
                        continue;
                    }
                    block = textBlock(text.asText());
                }
                case "image_url" -> {
                    if (assistant) {
                        throw new OpenAiRequestException(pp, "Image parts are not allowed in assistant messages.");
                    }
                    block = imageBlock(part, pp);
                }
                case "refusal" -> {
                    if (assistant) {
                        continue; // ignored, as in Anthropic's own compatibility layer
                    }
                    throw new OpenAiRequestException(pp, "Content part type 'refusal' is only valid in assistant messages.");
                }
                case "input_audio", "file" -> throw new OpenAiRequestException(pp,
                        "Content part type '" + type + "' is not supported by Claude models; "
                                + "only 'text' and 'image_url' parts are supported.");
                default -> throw new OpenAiRequestException(pp, "Unsupported content part type '" + type + "'.");
            }
            JsonNode cc = cacheControl(part, pp + ".cache_control");
            if (cc != null) {
                block.set("cache_control", cc);
            }
            blocks.add(block);
        }
        return blocks;
    }

    private static ObjectNode imageBlock(JsonNode part, String pp) {
        JsonNode imageUrl = part.get("image_url");
        JsonNode urlNode = imageUrl == null ? null : (imageUrl.isTextual() ? imageUrl : imageUrl.get("url"));
        if (urlNode == null || !urlNode.isTextual() || urlNode.asText().isEmpty()) {
            throw new OpenAiRequestException(pp + ".image_url.url", "image_url.url is required.");
        }
        String url = urlNode.asText();
        ObjectNode block = F.objectNode();
        block.put("type", "image");
        ObjectNode source = block.putObject("source");
        if (url.startsWith("data:")) {
            Matcher m = DATA_URL.matcher(url);
            if (!m.matches()) {
                throw new OpenAiRequestException(pp + ".image_url.url",
                        "Image data URLs must have the form data:<media-type>;base64,<data>.");
            }
            source.put("type", "base64");
            source.put("media_type", m.group(1));
            source.put("data", m.group(2));
        } else if (url.regionMatches(true, 0, "https://", 0, 8) || url.regionMatches(true, 0, "http://", 0, 7)) {
            source.put("type", "url");
            source.put("url", url);
        } else {
            throw new OpenAiRequestException(pp + ".image_url.url",
                    "Image URLs must be http(s) URLs or base64 data URLs.");
        }
        return block;
    }

    /** Assistant: text content (empty dropped) followed by one tool_use block per tool call. */
    private static List<ObjectNode> assistantBlocks(JsonNode msg, String mp) {
        List<ObjectNode> blocks = new ArrayList<>();
        JsonNode content = msg.get("content");
        if (present(content)) {
            blocks.addAll(contentBlocks(content, mp + ".content", true));
        }
        if (present(msg.get("function_call"))) {
            throw new OpenAiRequestException(mp + ".function_call",
                    "The deprecated 'function_call' is not supported; use 'tool_calls'.");
        }
        JsonNode calls = msg.get("tool_calls");
        if (present(calls)) {
            if (!calls.isArray()) {
                throw new OpenAiRequestException(mp + ".tool_calls", "'tool_calls' must be an array.");
            }
            for (int k = 0; k < calls.size(); k++) {
                String tp = mp + ".tool_calls[" + k + "]";
                JsonNode call = calls.get(k);
                if (!call.isObject()) {
                    throw new OpenAiRequestException(tp, "Each tool call must be an object.");
                }
                JsonNode type = call.get("type");
                if (present(type) && !"function".equals(type.asText())) {
                    throw new OpenAiRequestException(tp + ".type", "Only 'function' tool calls are supported.");
                }
                JsonNode id = call.get("id");
                if (id == null || !id.isTextual() || id.asText().isEmpty()) {
                    throw new OpenAiRequestException(tp + ".id", "Tool call id is required.");
                }
                JsonNode fn = call.path("function");
                JsonNode name = fn.get("name");
                if (name == null || !name.isTextual() || name.asText().isEmpty()) {
                    throw new OpenAiRequestException(tp + ".function.name", "Tool call function name is required.");
                }
                ObjectNode block = F.objectNode();
                block.put("type", "tool_use");
                block.put("id", id.asText());
                block.put("name", name.asText());
                block.set("input", arguments(fn.get("arguments"), tp + ".function.arguments"));
                blocks.add(block);
            }
        }
        return blocks;
    }

    /** JSON-string arguments → object; empty/absent → {}. */
    private static JsonNode arguments(JsonNode args, String ap) {
        if (!present(args)) {
            return F.objectNode();
        }
        if (args.isObject()) {
            return args.deepCopy();
        }
        if (!args.isTextual()) {
            throw new OpenAiRequestException(ap, "Tool call arguments must be a JSON string.");
        }
        String s = args.asText();
        if (s.isBlank()) {
            return F.objectNode();
        }
        JsonNode parsed;
        try {
            parsed = ChatResponseTranslator.MAPPER.readTree(s);
        } catch (Exception e) {
            throw new OpenAiRequestException(ap, "Tool call arguments are not valid JSON.");
        }
        if (parsed == null || !parsed.isObject()) {
            throw new OpenAiRequestException(ap, "Tool call arguments must be a JSON object.");
        }
        return parsed;
    }

    private static ObjectNode toolResult(JsonNode msg, String mp) {
        JsonNode id = msg.get("tool_call_id");
        if (id == null || !id.isTextual() || id.asText().isEmpty()) {
            throw new OpenAiRequestException(mp + ".tool_call_id", "Tool messages require 'tool_call_id'.");
        }
        ObjectNode result = F.objectNode();
        result.put("type", "tool_result");
        result.put("tool_use_id", id.asText());
        JsonNode content = msg.get("content");
        if (present(content)) {
            if (content.isTextual()) {
                result.put("content", content.asText());
            } else {
                List<ObjectNode> blocks = contentBlocks(content, mp + ".content", false);
                if (blocks.size() == 1 && isPlainText(blocks.get(0))) {
                    result.put("content", blocks.get(0).get("text").asText());
                } else {
                    ArrayNode arr = result.putArray("content");
                    blocks.forEach(arr::add);
                }
            }
        }
        return result;
    }

    private static ObjectNode textBlock(String text) {
        ObjectNode b = F.objectNode();
        b.put("type", "text");
        b.put("text", text);
        return b;
    }

    private static JsonNode cacheControl(JsonNode holder, String param) {
        JsonNode cc = holder.get("cache_control");
        if (!present(cc)) {
            return null;
        }
        if (!cc.isObject()) {
            throw new OpenAiRequestException(param, "'cache_control' must be an object such as {\"type\":\"ephemeral\"}.");
        }
        return cc.deepCopy();
    }

    private static boolean present(JsonNode n) {
        return n != null && !n.isNull() && !n.isMissingNode();
    }
}
