package dev.tollgate.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.upstream.SseLineBuffer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The files that code execution or skills made during one call, and the container it ran in, read
 * off the call's response as it passes (a JSON message, or SSE bytes in any chunking). Made only for
 * calls that run code execution, so other calls pay nothing. Wire shapes (digest §2.2, §3.3, §6.4):
 * a {@code code_execution_tool_result} or {@code bash_code_execution_tool_result} block names each
 * file in {@code content.content[]} as {@code {"type":"code_execution_output"|"bash_code_execution_output",
 * "file_id"}} (in a stream, the whole block comes in its content_block_start); the message names the
 * container as {@code "container": {"id", "expires_at"}} (in a stream, in message_delta's delta).
 * Only those blocks are read: a tool_use input is the model's own text and could name any id.
 */
public final class CallOutputs {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] TOOL_RESULT = "code_execution_tool_result\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONTAINER = "\"container\"".getBytes(StandardCharsets.US_ASCII);

    private final SseLineBuffer lines = new SseLineBuffer();
    private final Set<String> fileIds = new LinkedHashSet<>();
    private final Set<String> containerIds = new LinkedHashSet<>();
    private String event;

    /** A JSON message, whole. */
    public void message(byte[] json) {
        try {
            message(JSON.readTree(json));
        } catch (IOException e) {
            // not a message: nothing to record
        }
    }

    /** A message already read (a batch's succeeded result: one of many, each in its own container). */
    public void message(JsonNode message) {
        container(message.get("container"));
        for (JsonNode block : message.path("content")) {
            toolResult(block);
        }
    }

    /** Bytes of an SSE stream, as they pass. */
    public void feed(byte[] bytes, int offset, int length) {
        lines.feed(bytes, offset, length, this::onLine);
    }

    private void onLine(byte[] line, int len) {
        if (len == 0) {
            event = null;
        } else if (SseLineBuffer.startsWith(line, len, "event:")) {
            event = new String(line, 6, len - 6, StandardCharsets.UTF_8).trim();
        } else if (event != null && SseLineBuffer.startsWith(line, len, "data:")) {
            switch (event) {
                case "content_block_start" -> {
                    if (SseLineBuffer.contains(line, len, TOOL_RESULT)) {
                        toolResult(parse(line, len).path("content_block"));
                    }
                }
                case "message_start" -> {
                    if (SseLineBuffer.contains(line, len, CONTAINER)) {
                        container(parse(line, len).path("message").get("container"));
                    }
                }
                case "message_delta" -> {
                    if (SseLineBuffer.contains(line, len, CONTAINER)) {
                        container(parse(line, len).path("delta").get("container"));
                    }
                }
                default -> {
                }
            }
        }
    }

    private void toolResult(JsonNode block) {
        String type = block.path("type").asText("");
        if (!type.equals("code_execution_tool_result") && !type.equals("bash_code_execution_tool_result")) {
            return;
        }
        for (JsonNode output : block.path("content").path("content")) {
            String kind = output.path("type").asText("");
            JsonNode id = output.get("file_id");
            if ((kind.equals("code_execution_output") || kind.equals("bash_code_execution_output"))
                    && id != null && id.isTextual()) {
                fileIds.add(id.asText());
            }
        }
    }

    private void container(JsonNode container) {
        if (container != null && container.path("id").isTextual()) {
            containerIds.add(container.path("id").asText());
        }
    }

    public boolean found() {
        return !containerIds.isEmpty() || !fileIds.isEmpty();
    }

    /** The containers the call ran in (one for a call; a batch's requests each have their own). */
    public Collection<String> containerIds() {
        return containerIds;
    }

    public Collection<String> fileIds() {
        return fileIds;
    }

    private static JsonNode parse(byte[] line, int len) {
        try {
            return JSON.readTree(line, 5, len - 5);
        } catch (IOException e) {
            return JSON.missingNode();
        }
    }
}
