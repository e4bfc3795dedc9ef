package dev.tollgate.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The Anthropic error envelope: {"type":"error","error":{"type","message"},"request_id"}. */
public final class AnthropicErrors {

    private static final ObjectMapper JSON = new ObjectMapper();

    private AnthropicErrors() {
    }

    public static ObjectNode envelope(ApiException e, String requestId) {
        ObjectNode root = JSON.createObjectNode();
        root.put("type", "error");
        ObjectNode error = root.putObject("error");
        error.put("type", e.type());
        error.put("message", e.getMessage());
        if (e.detailsErrorCode() != null) {
            error.putObject("details").put("error_code", e.detailsErrorCode());
        }
        root.put("request_id", requestId);
        return root;
    }

    public static byte[] envelopeBytes(ApiException e, String requestId) {
        try {
            return JSON.writeValueAsBytes(envelope(e, requestId));
        } catch (com.fasterxml.jackson.core.JsonProcessingException impossible) {
            throw new IllegalStateException(impossible);
        }
    }
}
