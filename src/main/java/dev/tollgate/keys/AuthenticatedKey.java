package dev.tollgate.keys;

import dev.tollgate.limits.CidrSet;

import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/**
 * A key that passed authentication, as the gateway needs it. {@code allowedModels} and
 * {@code allowedIps} null mean all; null rate limits mean unlimited (the database enforces
 * them; these copies only fill the response headers). {@code limited}: the key or its account has
 * some limit, so each of its calls must be admitted by the database on its own. {@code planId}: the
 * account's price plan (null: the default plan), as fresh as the cached key.
 */
public record AuthenticatedKey(UUID id, UUID accountId, String name, String prefix, Instant expiresAt,
                               Set<String> allowedModels, CidrSet allowedIps, Integer requestsPerMinute,
                               Long tokensPerMinute, boolean limited, UUID planId) {

    public AuthenticatedKey(UUID id, UUID accountId, String name, String prefix, Instant expiresAt,
                            Set<String> allowedModels, CidrSet allowedIps, Integer requestsPerMinute,
                            Long tokensPerMinute, boolean limited) {
        this(id, accountId, name, prefix, expiresAt, allowedModels, allowedIps, requestsPerMinute, tokensPerMinute,
                limited, null);
    }

    public boolean allows(String pricedModelId) {
        return allowedModels == null || allowedModels.contains(pricedModelId);
    }

    public boolean allowsIp(String clientIp) {
        return allowedIps == null || allowedIps.contains(clientIp);
    }
}
