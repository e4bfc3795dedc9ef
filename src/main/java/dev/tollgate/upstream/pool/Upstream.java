package dev.tollgate.upstream.pool;

import dev.tollgate.upstream.UpstreamTarget;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One upstream of the pool: a credential at an address, and how routing treats it. {@code models}
 * are canonical model ids (null: every priced model). {@code configured}: the {@code default}
 * upstream built from TOLLGATE_UPSTREAM_API_KEY / _BASE_URL, which the admin API cannot change.
 */
public record Upstream(UUID id, String name, String kind, String baseUrl, UpstreamTarget target, String keyHint,
                       int weight, int priority, List<String> models, Integer maxConcurrent, boolean enabled,
                       Instant createdAt, boolean configured) {

    /** The id of the configured {@code default} upstream, on its usage records too. */
    public static final UUID DEFAULT_ID = new UUID(0, 0);
    public static final String DEFAULT_NAME = "default";
    /** The one kind so far; Bedrock and Vertex will be others, each with its own way to open a call. */
    public static final String ANTHROPIC = "anthropic";

    public boolean serves(String modelId) {
        return models == null || models.contains(modelId);
    }

    /** What the admin API may show of a credential: its last four characters. */
    static String hint(String apiKey) {
        return apiKey.length() <= 4 ? "…" : "…" + apiKey.substring(apiKey.length() - 4);
    }
}
