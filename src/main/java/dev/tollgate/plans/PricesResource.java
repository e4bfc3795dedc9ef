package dev.tollgate.plans;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AuditLog;
import dev.tollgate.admin.Json;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceModifiers;
import dev.tollgate.metering.PriceTable;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.annotations.RegisterForReflection;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code /admin/v1/prices}: the effective price table, and the operator's own entries over the
 * built-in one, stored in PostgreSQL. A change is audited, in effect on this instance at once and
 * on every other within {@code tollgate.plans.refresh-interval}; a model added here is served (and
 * listed by /v1/models) as soon as it is in effect.
 */
@Path("/admin/v1/prices")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class PricesResource {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern MODEL_ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");
    private static final Set<String> FIELDS = Set.of("input", "output", "cache_write_5m", "cache_write_1h", "cache_read",
            "aliases", "max_input_tokens", "max_tokens", "long_context", "display_name");
    private static final Set<String> BAND_FIELDS = Set.of("threshold_tokens", "input", "output", "cache_write_5m",
            "cache_write_1h", "cache_read");
    private static final List<String> CACHE_FIELDS = List.of("cache_write_5m", "cache_write_1h", "cache_read");

    private final PlanStore store;
    private final PlanBook book;
    private final PriceTable prices;
    private final AuditLog audit;

    public PricesResource(PlanStore store, PlanBook book, PriceTable prices, AuditLog audit) {
        this.store = store;
        this.book = book;
        this.prices = prices;
        this.audit = audit;
    }

    /** A long-context band: its threshold and rates (cache rates resolved). */
    @RegisterForReflection
    record BandView(long thresholdTokens, String input, String output,
                    @JsonProperty("cache_write_5m") String cacheWrite5m,
                    @JsonProperty("cache_write_1h") String cacheWrite1h, String cacheRead) {
    }

    @RegisterForReflection
    record FastView(String input, String output) {
    }

    /** One model as it is priced now; cache prices the entry leaves to the multipliers are shown resolved. */
    @RegisterForReflection
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PriceView(String id, String displayName, List<String> aliases, String source, String input, String output,
                     @JsonProperty("cache_write_5m") String cacheWrite5m,
                     @JsonProperty("cache_write_1h") String cacheWrite1h, String cacheRead, BandView longContext, FastView fast,
                     int maxInputTokens, int maxTokens, LocalDate retiresOn, String replacement, boolean served) {
    }

    @RegisterForReflection
    record ListView(List<PriceView> data) {
    }

    @GET
    public ListView list() {
        return new ListView(prices.all().stream().map(this::view).toList());
    }

    @GET
    @Path("/{model}")
    public PriceView get(@PathParam("model") String model) {
        return view(prices.all().stream().filter(m -> m.id().equals(model)).findFirst()
                .orElseThrow(() -> ApiException.notFound("Model " + model + " is not in the price table")));
    }

    /**
     * Sets a model's prices (over its built-in or file entry, or as a new model). Input and output
     * are required; cache prices left out follow the usual multipliers of the input price, and
     * without long_context the model has no premium band. Other facts left out are kept.
     */
    @PUT
    @Path("/{model}")
    public PriceView put(@PathParam("model") String model, JsonNode body) {
        if (!MODEL_ID.matcher(model).matches()) {
            throw ApiException.invalidRequest("model id: " + (model.length() > 100 ? model.substring(0, 100) + "..." : model)
                    + " must be 1 to 100 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        Json.onlyFields(body, FIELDS);
        ObjectNode entry = JSON.createObjectNode();
        putPrice(entry, body, "input", "input", true);
        putPrice(entry, body, "output", "output", true);
        for (String field : CACHE_FIELDS) {
            putPrice(entry, body, field, field, false);
        }
        if (body.hasNonNull("aliases")) {
            List<String> aliases = Json.optionalStringList(body.get("aliases"), "aliases", "model names");
            ArrayNode array = entry.putArray("aliases");
            for (String alias : aliases) {
                if (!MODEL_ID.matcher(alias).matches()) {
                    throw ApiException.invalidRequest("aliases: " + alias + " must be lowercase letters, digits, '.',"
                            + " '_' or '-'");
                }
                if (alias.equals(model)) {
                    throw ApiException.invalidRequest("aliases: " + alias + " is the model's own id");
                }
                array.add(alias);
            }
        }
        putInt(entry, body, "max_input_tokens", 10_000_000);
        putInt(entry, body, "max_tokens", 10_000_000);
        String displayName = Json.optionalString(body, "display_name", 200);
        if (displayName != null) {
            entry.put("display_name", displayName);
        }
        if (body.hasNonNull("long_context")) {
            JsonNode band = body.get("long_context");
            if (!band.isObject()) {
                throw ApiException.invalidRequest("long_context: must be an object {threshold_tokens, input, output,"
                        + " cache prices?}");
            }
            band.fieldNames().forEachRemaining(f -> {
                if (!BAND_FIELDS.contains(f)) {
                    throw ApiException.invalidRequest("long_context." + f + ": unknown field; expected one of "
                            + new java.util.TreeSet<>(BAND_FIELDS));
                }
            });
            ObjectNode out = entry.putObject("long_context");
            JsonNode threshold = band.get("threshold_tokens");
            if (threshold == null || !threshold.isIntegralNumber() || !threshold.canConvertToLong()
                    || threshold.asLong() < 1) {
                throw ApiException.invalidRequest("long_context.threshold_tokens: must be a positive integer");
            }
            out.put("threshold_tokens", threshold.asLong());
            putPrice(out, band, "input", "long_context.input", true);
            putPrice(out, band, "output", "long_context.output", true);
            for (String field : CACHE_FIELDS) {
                putPrice(out, band, field, "long_context." + field, false);
            }
        }
        // Listed (for a model of the operator's own) with the time it was first priced here.
        JsonNode previous = prices.stored().get(model);
        entry.put("created_at", previous != null && previous.hasNonNull("created_at") ? previous.get("created_at").asText()
                : Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        try {
            prices.validateStored(model, entry);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidRequest(e.getMessage());
        }
        QuarkusTransaction.requiringNew().run(() -> {
            try (Connection c = store.connection()) {
                store.savePrice(c, model, entry);
            } catch (SQLException e) {
                throw new LedgerException("saving the price failed", e);
            }
            audit.record("price.set", model, entry);
        });
        book.refresh();
        return get(model);
    }

    /** Removes the operator's entry: the model is back to its built-in (or file) entry, or gone if it had none. */
    @DELETE
    @Path("/{model}")
    public RestResponse<Void> delete(@PathParam("model") String model) {
        boolean[] deleted = new boolean[1];
        QuarkusTransaction.requiringNew().run(() -> {
            try (Connection c = store.connection()) {
                deleted[0] = store.deletePrice(c, model);
            } catch (SQLException e) {
                throw new LedgerException("deleting the price failed", e);
            }
            if (deleted[0]) {
                audit.record("price.delete", model, java.util.Map.of());
            }
        });
        if (!deleted[0]) {
            throw ApiException.notFound("Model " + model + " has no stored price");
        }
        book.refresh();
        return RestResponse.noContent();
    }

    private static void putPrice(ObjectNode entry, JsonNode body, String field, String name, boolean required) {
        BigDecimal price = PlanFields.price(body, field, name, required);
        if (price != null) {
            entry.put(field, price.toPlainString());
        }
    }

    private static void putInt(ObjectNode entry, JsonNode body, String field, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 1 || v.asInt() > max) {
            throw ApiException.invalidRequest(field + ": must be an integer from 1 to " + max);
        }
        entry.put(field, v.asInt());
    }

    private PriceView view(ModelPrice m) {
        ModelPrice.Rates standard = m.rates(0, PriceModifiers.NONE);
        BandView band = null;
        if (m.longContext() != null) {
            ModelPrice.Rates lc = m.rates(m.longContext().thresholdTokens() + 1, PriceModifiers.NONE);
            band = new BandView(m.longContext().thresholdTokens(), plain(lc.input()), plain(lc.output()),
                    plain(lc.cacheWrite5m()), plain(lc.cacheWrite1h()), plain(lc.cacheRead()));
        }
        return new PriceView(m.id(), m.displayName(), m.aliases(), prices.source(m.id()), plain(standard.input()),
                plain(standard.output()), plain(standard.cacheWrite5m()), plain(standard.cacheWrite1h()),
                plain(standard.cacheRead()), band,
                m.fast() == null ? null : new FastView(plain(m.fast().input()), plain(m.fast().output())),
                m.contextWindow(), m.maxOutputTokens(), m.retirement() == null ? null : m.retirement().on(),
                m.retirement() == null ? null : m.retirement().replacement(), !prices.retired(m));
    }

    private static String plain(BigDecimal d) {
        BigDecimal s = d.stripTrailingZeros();
        return (s.scale() < 0 ? s.setScale(0) : s).toPlainString();
    }
}
