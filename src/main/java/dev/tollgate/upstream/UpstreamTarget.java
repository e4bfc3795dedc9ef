package dev.tollgate.upstream;

import java.net.URI;
import java.util.Locale;

/** Where one upstream call goes: an Anthropic-format API's address and the operator's key for it. */
public record UpstreamTarget(String host, int port, boolean tls, String basePath, String apiKey) {

    /** @throws IllegalArgumentException unless {@code baseUrl} is an absolute http(s) URL without query */
    public static UpstreamTarget of(String baseUrl, String apiKey) {
        URI base = URI.create(baseUrl.trim());
        String scheme = base.getScheme() == null ? "" : base.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http") || base.getHost() == null || base.getRawQuery() != null
                || base.getRawFragment() != null) {
            throw new IllegalArgumentException("must be an http(s) URL such as https://api.anthropic.com");
        }
        boolean tls = scheme.equals("https");
        String path = base.getRawPath() == null ? "" : base.getRawPath();
        return new UpstreamTarget(base.getHost(), base.getPort() > 0 ? base.getPort() : (tls ? 443 : 80), tls,
                path.endsWith("/") ? path.substring(0, path.length() - 1) : path, apiKey);
    }

    /** Never the key: targets end up in logs and exception messages. */
    @Override
    public String toString() {
        return (tls ? "https://" : "http://") + host + ":" + port + basePath;
    }
}
