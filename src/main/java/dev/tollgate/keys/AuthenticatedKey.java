package dev.tollgate.keys;

import dev.tollgate.limits.CidrSet;

import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/**
 * A key that passed authentication, as the gateway needs it. {@code allowedModels} and
 * {@code allowedIps} null mean all; null rate limits mean unlimited (the database enforces
 * them; these copies only fill the response headers).
 */
public record AuthenticatedKey(UUID id, UUID accountId, String name, String prefix, Instant expiresAt,
                               Set<String> allowedModels, CidrSet allowedIps, Integer requestsPerMinute,
                               Long tokensPerMinute) {

    public boolean allows(String pricedModelId) {
        return allowedModels == null || allowedModels.contains(pricedModelId);
    }

    public boolean allowsIp(String clientIp) {
        return allowedIps == null || allowedIps.contains(clientIp);
    }
}
