package dev.tollgate.upstream.pool;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.upstream.AnthropicDialect;
import dev.tollgate.upstream.UpstreamDialect;
import dev.tollgate.upstream.UpstreamTarget;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One upstream of the pool: a credential at an address, and how routing treats it. {@code models}
 * are canonical model ids (null: every priced model). {@code configured}: the {@code default}
 * upstream built from TOLLGATE_UPSTREAM_API_KEY / _BASE_URL, which the admin API cannot change.
 * {@code target}: its address (and, for the anthropic kind, its key); null when its credential cannot
 * be read, and then it is never routed to. {@code dialect}: how a call is opened on it, by kind.
 * {@code settings}: the kind's settings that are no secret (region, project, model map...), as the
 * admin API shows them. {@code priceMultiplier}: applied to the list-price cost of the calls it serves
 * (what the operator pays for them), never to what a customer pays.
 */
public record Upstream(UUID id, String name, String kind, String baseUrl, UpstreamTarget target, String keyHint,
                       int weight, int priority, List<String> models, Integer maxConcurrent, boolean enabled,
                       Instant createdAt, boolean configured, UpstreamDialect dialect, ObjectNode settings,
                       BigDecimal priceMultiplier) {

    /** An anthropic-kind upstream. */
    public Upstream(UUID id, String name, String kind, String baseUrl, UpstreamTarget target, String keyHint,
                    int weight, int priority, List<String> models, Integer maxConcurrent, boolean enabled,
                    Instant createdAt, boolean configured) {
        this(id, name, kind, baseUrl, target, keyHint, weight, priority, models, maxConcurrent, enabled, createdAt,
                configured, target == null ? null : new AnthropicDialect(target), null, BigDecimal.ONE);
    }

    /** The id of the configured {@code default} upstream, on its usage records too. */
    public static final UUID DEFAULT_ID = new UUID(0, 0);
    public static final String DEFAULT_NAME = "default";
    /** Anthropic's API, or anything speaking its wire format: the only kind batches and files go to. */
    public static final String ANTHROPIC = "anthropic";
    /** Claude on Amazon Bedrock (InvokeModel). */
    public static final String BEDROCK = "bedrock";
    /** Claude on Google Vertex AI (rawPredict). */
    public static final String VERTEX = "vertex";

    public boolean serves(String modelId) {
        return models == null || models.contains(modelId);
    }

    /** What the admin API may show of a credential: its last four characters. */
    static String hint(String apiKey) {
        return apiKey.length() <= 4 ? "…" : "…" + apiKey.substring(apiKey.length() - 4);
    }
}
