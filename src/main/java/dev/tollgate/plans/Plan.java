package dev.tollgate.plans;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * A price plan: what its accounts are charged over the list price. {@code markupPercent} applies
 * to every token kind (negative: a discount, above -100); {@code modelOverrides}, by canonical model
 * id, replace it for one model.
 */
public record Plan(UUID id, String name, BigDecimal markupPercent, Map<String, ModelOverride> modelOverrides,
                   Instant createdAt, Instant updatedAt) {

    /** The override for {@code modelId}, or null. */
    public ModelOverride overrideFor(String modelId) {
        return modelOverrides.get(modelId);
    }
}
