package dev.tollgate.keys;

import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/** A key that passed authentication, as the gateway needs it. {@code allowedModels} null means all. */
public record AuthenticatedKey(UUID id, UUID accountId, String name, String prefix, Instant expiresAt,
                               Set<String> allowedModels) {

    public boolean allows(String pricedModelId) {
        return allowedModels == null || allowedModels.contains(pricedModelId);
    }
}
