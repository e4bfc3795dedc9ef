package dev.tollgate.upstream.vertex;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Claude's model ids on Vertex AI: a dated id ({@code claude-sonnet-4-5-20250929}) is
 * {@code claude-sonnet-4-5@20250929}; an undated one ({@code claude-sonnet-4-6}) stays as it is.
 * An upstream's {@code model_map} overrides both.
 */
public final class VertexModels {

    private static final Pattern DATED = Pattern.compile("(.*)-(\\d{8})$");

    private VertexModels() {
    }

    public static String id(String modelId, Map<String, String> modelMap) {
        String mapped = modelMap.get(modelId);
        if (mapped != null) {
            return mapped;
        }
        Matcher m = DATED.matcher(modelId);
        return m.matches() ? m.group(1) + "@" + m.group(2) : modelId;
    }

    /** The API's base URL for a region: global, the us / eu multi-regions, or a region's own endpoint. */
    public static String defaultBaseUrl(String region) {
        return switch (region) {
            case "global" -> "https://aiplatform.googleapis.com/v1";
            case "us", "eu" -> "https://aiplatform." + region + ".rep.googleapis.com/v1";
            default -> "https://" + region + "-aiplatform.googleapis.com/v1";
        };
    }
}
