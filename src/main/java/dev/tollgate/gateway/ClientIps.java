package dev.tollgate.gateway;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.limits.CidrSet;
import io.vertx.core.http.HttpServerRequest;
import jakarta.inject.Singleton;

import java.util.List;

/**
 * The client's IP address: the connection's peer, or, only when that peer is a trusted proxy
 * (tollgate.trusted-proxies), the right-most X-Forwarded-For address that is not itself a trusted
 * proxy. Anyone can write X-Forwarded-For; only a trusted proxy's word counts.
 */
@Singleton
public class ClientIps {

    private final CidrSet trusted;

    public ClientIps(TollgateConfig config) {
        this.trusted = CidrSet.parse(config.trustedProxies().orElse(List.of()));
    }

    public String clientIp(HttpServerRequest request) {
        String peer = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
        if (peer == null || !trusted.contains(peer)) {
            return peer;
        }
        String forwarded = request.getHeader("x-forwarded-for");
        if (forwarded == null) {
            return peer;
        }
        String[] hops = forwarded.split(",");
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].trim();
            if (!trusted.contains(hop)) {
                return hop;
            }
        }
        return hops[0].trim();
    }
}
