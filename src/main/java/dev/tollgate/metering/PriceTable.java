package dev.tollgate.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.config.TollgateConfig;
import io.quarkus.logging.Log;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The models Tollgate sells and their prices: the built-in {@code prices.json}, with the
 * operator's file (tollgate.prices.file) replacing or adding models by id. A model past its
 * retirement date stays in the table (its name still resolves, to say what replaces it) but is
 * neither listed nor served. Fields starting with "_" are comments.
 */
@ApplicationScoped
public class PriceTable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final BigDecimal DEFAULT_US_INFERENCE_MULTIPLIER = new BigDecimal("1.1");

    private final Clock clock;
    private List<ModelPrice> models;
    private Map<String, ModelPrice> byName;
    private CostCalculator calculator;

    /** What a requested model name resolved to, and the name to send upstream. */
    public record Resolved(ModelPrice price, String upstreamModel) {
    }

    PriceTable() {
        this(Clock.systemUTC());
    }

    private PriceTable(Clock clock) {
        this.clock = clock;
    }

    @Inject
    PriceTable(TollgateConfig config) {
        this();
        init(config.prices().file());
    }

    /** For tests and tools: the built-in table plus an optional override file. */
    public static PriceTable load(Optional<String> overrideFile) {
        return load(overrideFile, Clock.systemUTC());
    }

    /** As {@link #load(Optional)}, retiring models by {@code clock}'s date. */
    public static PriceTable load(Optional<String> overrideFile, Clock clock) {
        PriceTable table = new PriceTable(clock);
        table.init(overrideFile);
        return table;
    }

    private void init(Optional<String> overrideFile) {
        JsonNode builtIn;
        try (InputStream in = PriceTable.class.getResourceAsStream("/prices.json")) {
            builtIn = JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read built-in prices.json", e);
        }
        Map<String, ModelPrice> merged = new LinkedHashMap<>();
        BigDecimal usInference = optional(builtIn, "us_inference_multiplier");
        for (JsonNode m : builtIn.path("models")) {
            ModelPrice p = parseModel(m, "prices.json", usInference != null ? usInference : DEFAULT_US_INFERENCE_MULTIPLIER);
            merged.put(p.id(), p);
        }
        BigDecimal webSearch = new BigDecimal(builtIn.path("web_search_usd_per_request").asText("0.01"));
        int batchDiscount = builtIn.path("batch_discount_percent").asInt(50);
        if (overrideFile.isPresent()) {
            Path path = Path.of(overrideFile.get());
            JsonNode override;
            try {
                override = JSON.readTree(Files.readAllBytes(path));
            } catch (IOException e) {
                throw new IllegalStateException("tollgate.prices.file: cannot read " + path + ": " + e.getMessage(), e);
            }
            if (override.has("us_inference_multiplier")) {
                usInference = optional(override, "us_inference_multiplier");
            }
            for (JsonNode m : override.path("models")) {
                ModelPrice p = parseModel(m, path.toString(),
                        usInference != null ? usInference : DEFAULT_US_INFERENCE_MULTIPLIER);
                merged.put(p.id(), p);
            }
            if (override.has("web_search_usd_per_request")) {
                webSearch = new BigDecimal(override.get("web_search_usd_per_request").asText());
            }
            if (override.has("batch_discount_percent")) {
                batchDiscount = override.get("batch_discount_percent").asInt();
            }
            Log.infof("Prices: %d models after applying %s", merged.size(), path);
        }
        this.models = List.copyOf(merged.values());
        Map<String, ModelPrice> names = new HashMap<>();
        for (ModelPrice p : models) {
            names.put(p.id().toLowerCase(Locale.ROOT), p);
            for (String alias : p.aliases()) {
                names.put(alias.toLowerCase(Locale.ROOT), p);
            }
        }
        this.byName = names;
        this.calculator = new CostCalculator(webSearch, batchDiscount);
        for (ModelPrice p : models) {
            String replacement = p.retirement() == null ? null : p.retirement().replacement();
            // A 404 that names a model the table does not know would send the customer nowhere.
            if (replacement != null && !names.containsKey(replacement.toLowerCase(Locale.ROOT))) {
                throw new IllegalStateException("prices: model " + p.id() + ": replacement " + replacement
                        + " is not a model of the table");
            }
        }
    }

    private static ModelPrice parseModel(JsonNode m, String source, BigDecimal usInferenceMultiplier) {
        String id = m.path("id").asText(null);
        if (id == null || id.isBlank()) {
            throw new IllegalStateException(source + ": a model has no id");
        }
        try {
            List<String> aliases = new ArrayList<>();
            m.path("aliases").forEach(a -> aliases.add(a.asText()));
            JsonNode lc = m.get("long_context");
            JsonNode fast = m.get("fast");
            JsonNode retires = m.get("retires_on");
            BigDecimal usInference = optional(m, "us_inference_multiplier");
            return new ModelPrice(id,
                    m.path("display_name").asText(id),
                    Instant.parse(m.path("created_at").asText("1970-01-01T00:00:00Z")),
                    Collections.unmodifiableList(aliases),
                    m.path("max_output_tokens").asInt(8192),
                    m.path("context_window").asInt(200000),
                    m.path("structured_outputs").asBoolean(false),
                    required(m, "input"), required(m, "output"),
                    optional(m, "cache_write_5m"), optional(m, "cache_write_1h"), optional(m, "cache_read"),
                    lc == null ? null : new ModelPrice.LongContext(lc.path("threshold_tokens").asLong(200000),
                            required(lc, "input"), required(lc, "output"), optional(lc, "cache_write_5m"),
                            optional(lc, "cache_write_1h"), optional(lc, "cache_read")),
                    fast == null ? null : new ModelPrice.Fast(required(fast, "input"), required(fast, "output")),
                    usInference != null ? usInference : usInferenceMultiplier,
                    retires == null ? null : new ModelPrice.Retirement(LocalDate.parse(retires.asText()),
                            m.path("replacement").asText(null)));
        } catch (RuntimeException e) {
            throw new IllegalStateException(source + ": model " + id + ": " + e.getMessage(), e);
        }
    }

    private static BigDecimal required(JsonNode node, String field) {
        BigDecimal value = optional(node, field);
        if (value == null) {
            throw new IllegalStateException(field + " is required");
        }
        return value;
    }

    private static BigDecimal optional(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        BigDecimal d = new BigDecimal(v.asText());
        if (d.signum() < 0) {
            throw new IllegalStateException(field + " must not be negative");
        }
        return d;
    }

    /**
     * Resolves a requested model: an id or alias is sent upstream as is; an OpenRouter-style name
     * ("anthropic/claude-sonnet-5.5") is sent as the priced model's id.
     */
    public Optional<Resolved> resolve(String requested) {
        if (requested == null) {
            return Optional.empty();
        }
        String name = requested.trim().toLowerCase(Locale.ROOT);
        ModelPrice exact = byName.get(name);
        if (exact != null) {
            // Sent as written when it is exactly a name Anthropic knows; otherwise as the canonical id.
            return Optional.of(new Resolved(exact, name.equals(requested) ? requested : exact.id()));
        }
        if (name.startsWith("anthropic/")) {
            name = name.substring("anthropic/".length());
        }
        name = name.replace('.', '-');
        for (String candidate : new String[] {name, name + "-latest", name + "-0"}) {
            ModelPrice p = byName.get(candidate);
            if (p != null) {
                return Optional.of(new Resolved(p, p.id()));
            }
        }
        return Optional.empty();
    }

    /** The models served today: those not yet retired (deprecated ones included). */
    public List<ModelPrice> available() {
        Instant now = clock.instant();
        return models.stream().filter(m -> !m.retiredAt(now)).toList();
    }

    public boolean retired(ModelPrice model) {
        return model.retiredAt(clock.instant());
    }

    public CostCalculator calculator() {
        return calculator;
    }
}
