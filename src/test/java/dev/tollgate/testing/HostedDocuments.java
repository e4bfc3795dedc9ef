package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Documents the fake upstream can read that a request names instead of containing (digest §1.3,
 * §6.4): a URL it fetches, or a Files API {@code file_id} it stores, each with the input tokens it
 * reads as. The real API counts such content in count_tokens and in the call's usage; so does the fake.
 */
final class HostedDocuments {

    private final Map<String, Integer> tokensByReference = new ConcurrentHashMap<>();

    void put(String urlOrFileId, int tokens) {
        tokensByReference.put(urlOrFileId, tokens);
    }

    void clear() {
        tokensByReference.clear();
    }

    /** What a request's messages name: the hosted documents' tokens, and the first file or URL not hosted. */
    static final class Named {
        long tokens;
        String missingFileId;
        String missingUrl;
    }

    Named named(JsonNode request) {
        Named named = new Named();
        walk(request.path("messages"), named);
        return named;
    }

    private void walk(JsonNode node, Named named) {
        if (node.isObject()) {
            String type = node.path("type").asText("");
            if (type.equals("document") || type.equals("image")) {
                note(node.path("source"), named);
            }
        }
        if (node.isContainerNode()) {
            node.forEach(child -> walk(child, named));
        }
    }

    private void note(JsonNode source, Named named) {
        String sourceType = source.path("type").asText("");
        boolean file = sourceType.equals("file");
        if (!file && !sourceType.equals("url")) {
            return;
        }
        String reference = source.path(file ? "file_id" : "url").asText("");
        Integer tokens = tokensByReference.get(reference);
        if (tokens != null) {
            named.tokens += tokens;
        } else if (file && named.missingFileId == null) {
            named.missingFileId = reference;
        } else if (!file && named.missingUrl == null) {
            named.missingUrl = reference;
        }
    }
}
