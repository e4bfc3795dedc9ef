package dev.tollgate.upstream.bedrock;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Claude's model ids on Bedrock. A dated id ({@code claude-sonnet-4-5-20250929}) is
 * {@code anthropic.<id>-v1:0}; an undated one ({@code claude-sonnet-4-6}) is {@code anthropic.<id>},
 * but for the exceptions below. An upstream's {@code model_map} overrides both, and its
 * {@code inference_profile} ({@code global}, {@code us}, ...) is put in front of the built-in id.
 */
public final class BedrockModels {

    private static final Pattern DATED = Pattern.compile(".*-\\d{8}$");
    /** Where Bedrock's id departs from the rule (digest §1.3). */
    private static final Map<String, String> EXCEPTIONS = Map.of(
            "claude-opus-4-6", "anthropic.claude-opus-4-6-v1",
            "claude-3-5-sonnet-20241022", "anthropic.claude-3-5-sonnet-20241022-v2:0");

    private BedrockModels() {
    }

    /** The foundation-model id of a price-table id. */
    public static String baseId(String modelId) {
        String known = EXCEPTIONS.get(modelId);
        if (known != null) {
            return known;
        }
        return "anthropic." + modelId + (DATED.matcher(modelId).matches() ? "-v1:0" : "");
    }

    /** The id a call goes to: the model map's entry as it is, else the profile's prefix and the built-in id. */
    public static String invokeId(String modelId, String inferenceProfile, Map<String, String> modelMap) {
        String mapped = modelMap.get(modelId);
        if (mapped != null) {
            return mapped;
        }
        return inferenceProfile == null ? baseId(modelId) : inferenceProfile + "." + baseId(modelId);
    }

    /** The id as a path segment, as AWS's SDKs encode it: everything but unreserved characters and ':' escaped. */
    public static String pathSegment(String id) {
        StringBuilder out = new StringBuilder(id.length() + 8);
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
                    || c == '~' || c == ':') {
                out.append(c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }
}
