package dev.tollgate.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * operator's file (tollgate.prices.file) replacing or adding models by id, and over both the
 * entries the operator stored through the admin API ({@link #applyStored}, kept current by the
 * plans package). A model past its retirement date stays in the table (its name still resolves,
 * to say what replaces it) but is neither listed nor served. Fields starting with "_" are comments.
 */
@ApplicationScoped
public class PriceTable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final BigDecimal DEFAULT_US_INFERENCE_MULTIPLIER = new BigDecimal("1.1");

    /** The price fields of an entry: a stored entry sets all of them (absent ones follow the multipliers). */
    private static final List<String> PRICE_FIELDS =
            List.of("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "long_context");

    private final Clock clock;
    /** The built-in and file entries by id, as written (the base a stored entry is merged over). */
    private Map<String, JsonNode> baseEntries;
    private Map<String, String> baseSources;
    private BigDecimal defaultUsInference;
    private volatile Snapshot snapshot;
    private CostCalculator calculator;

    /** The table in effect: swapped whole, so a call sees one consistent table. */
    private record Snapshot(List<ModelPrice> models, Map<String, ModelPrice> byName, Map<String, String> sources,
                            Map<String, JsonNode> stored) {
    }

    /**
     * What a requested model name resolved to (its list price), the name to send upstream, and the
     * price the caller's plan charges for it ({@code planId} null: the default plan).
     */
    public record Resolved(ModelPrice price, String upstreamModel, ModelPrice charged, java.util.UUID planId) {

        public Resolved(ModelPrice price, String upstreamModel) {
            this(price, upstreamModel, price, null);
        }

        /** This model charged at {@code charged} under {@code planId}. */
        public Resolved chargedAt(ModelPrice charged, java.util.UUID planId) {
            return new Resolved(price, upstreamModel, charged, planId);
        }
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
        Map<String, JsonNode> entries = new LinkedHashMap<>();
        Map<String, String> sources = new HashMap<>();
        BigDecimal usInference = optional(builtIn, "us_inference_multiplier");
        for (JsonNode m : builtIn.path("models")) {
            entries.put(m.path("id").asText(), m);
            sources.put(m.path("id").asText(), "built_in");
        }
        BigDecimal webSearch = new BigDecimal(builtIn.path("web_search_usd_per_request").asText("0.01"));
        int batchDiscount = builtIn.path("batch_discount_percent").asInt(50);
        String overrideSource = null;
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
                entries.put(m.path("id").asText(), m);
                sources.put(m.path("id").asText(), "file");
            }
            if (override.has("web_search_usd_per_request")) {
                webSearch = new BigDecimal(override.get("web_search_usd_per_request").asText());
            }
            if (override.has("batch_discount_percent")) {
                batchDiscount = override.get("batch_discount_percent").asInt();
            }
            overrideSource = path.toString();
        }
        this.defaultUsInference = usInference != null ? usInference : DEFAULT_US_INFERENCE_MULTIPLIER;
        this.baseEntries = entries;
        this.baseSources = sources;
        this.calculator = new CostCalculator(webSearch, batchDiscount);
        this.snapshot = build(Map.of(), overrideSource);
        if (overrideSource != null) {
            Log.infof("Prices: %d models after applying %s", snapshot.models().size(), overrideSource);
        }
    }

    /**
     * The table with {@code stored} (model id → entry in the admin API's shape) over the built-in
     * and file entries. A stored entry that no longer makes a valid model (it was valid when
     * stored) is left out with an error in the log rather than stopping the table.
     */
    private Snapshot build(Map<String, JsonNode> stored, String fileSource) {
        Map<String, ModelPrice> merged = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : baseEntries.entrySet()) {
            String source = "built_in".equals(baseSources.get(e.getKey())) ? "prices.json"
                    : fileSource != null ? fileSource : "tollgate.prices.file";
            merged.put(e.getKey(), parseModel(e.getValue(), source, defaultUsInference));
        }
        Map<String, String> sources = new HashMap<>(baseSources);
        Map<String, JsonNode> kept = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : stored.entrySet()) {
            try {
                merged.put(e.getKey(), parseModel(mergedEntry(e.getKey(), e.getValue()), "stored prices", defaultUsInference));
                sources.put(e.getKey(), "stored");
                kept.put(e.getKey(), e.getValue());
            } catch (RuntimeException ex) {
                Log.errorf("Stored price of %s left out: %s", e.getKey(), ex.getMessage());
            }
        }
        List<ModelPrice> models = List.copyOf(merged.values());
        Map<String, ModelPrice> names = new HashMap<>();
        for (ModelPrice p : models) {
            names.put(p.id().toLowerCase(Locale.ROOT), p);
        }
        for (ModelPrice p : models) {
            for (String alias : p.aliases()) {
                names.putIfAbsent(alias.toLowerCase(Locale.ROOT), p);
            }
        }
        for (ModelPrice p : models) {
            String replacement = p.retirement() == null ? null : p.retirement().replacement();
            // A 404 that names a model the table does not know would send the customer nowhere.
            if (replacement != null && !names.containsKey(replacement.toLowerCase(Locale.ROOT))) {
                throw new IllegalStateException("prices: model " + p.id() + ": replacement " + replacement
                        + " is not a model of the table");
            }
        }
        return new Snapshot(models, Map.copyOf(names), Map.copyOf(sources), Collections.unmodifiableMap(kept));
    }

    /**
     * A stored entry ({@code input}, {@code output}, cache prices, {@code aliases},
     * {@code max_input_tokens}, {@code max_tokens}, {@code long_context}, {@code display_name})
     * over the built-in or file entry of the same id: the prices are the stored entry's alone
     * (cache prices it leaves out follow the usual multipliers of its input price, and without
     * {@code long_context} it has no premium band); every other fact it leaves out (display name,
     * aliases, token limits, fast mode, retirement) is kept from the entry below it.
     */
    private ObjectNode mergedEntry(String id, JsonNode stored) {
        JsonNode base = baseEntries.get(id);
        ObjectNode merged = base != null ? base.deepCopy() : JSON.createObjectNode();
        merged.put("id", id);
        PRICE_FIELDS.forEach(merged::remove);
        for (String field : PRICE_FIELDS) {
            if (stored.hasNonNull(field)) {
                merged.set(field, stored.get(field));
            }
        }
        if (stored.hasNonNull("aliases")) {
            merged.set("aliases", stored.get("aliases"));
        }
        if (stored.hasNonNull("display_name")) {
            merged.set("display_name", stored.get("display_name"));
        }
        if (stored.hasNonNull("max_input_tokens")) {
            merged.set("context_window", stored.get("max_input_tokens"));
        }
        if (stored.hasNonNull("max_tokens")) {
            merged.set("max_output_tokens", stored.get("max_tokens"));
        }
        if (base == null && !merged.has("created_at") && stored.hasNonNull("created_at")) {
            merged.set("created_at", stored.get("created_at"));
        }
        return merged;
    }

    /**
     * Puts the operator's stored entries in effect (all of them: an id missing from {@code stored}
     * is back to its built-in or file entry), replacing the table in one step.
     */
    public void applyStored(Map<String, JsonNode> stored) {
        if (!stored.equals(snapshot.stored())) {
            snapshot = build(stored, null);
        }
    }

    /**
     * The model a stored entry would make, or an {@link IllegalArgumentException} whose message
     * starts with the offending field; checks that its id and aliases name no other model.
     */
    public ModelPrice validateStored(String id, JsonNode stored) {
        ModelPrice other = snapshot.byName().get(id.toLowerCase(Locale.ROOT));
        if (other != null && !other.id().equals(id)) {
            throw new IllegalArgumentException("model id: " + id + " is a name of " + other.id() + "; set the price of "
                    + other.id());
        }
        ModelPrice model;
        try {
            model = parseModel(mergedEntry(id, stored), "stored prices", defaultUsInference);
        } catch (IllegalStateException e) {
            String message = e.getMessage();
            String prefix = "stored prices: model " + id + ": ";
            throw new IllegalArgumentException(message.startsWith(prefix) ? message.substring(prefix.length()) : message);
        }
        for (String alias : model.aliases()) {
            ModelPrice named = snapshot.byName().get(alias.toLowerCase(Locale.ROOT));
            if (named != null && !named.id().equals(id)) {
                throw new IllegalArgumentException("aliases: " + alias + " already names " + named.id());
            }
        }
        return model;
    }

    /** The operator's stored entries in effect, by model id, as stored. */
    public Map<String, JsonNode> stored() {
        return snapshot.stored();
    }

    /** Where a model's entry comes from: "built_in", "file" or "stored"; null for an unknown id. */
    public String source(String modelId) {
        return snapshot.sources().get(modelId);
    }

    /** Every model of the table, retired ones included, in table order. */
    public List<ModelPrice> all() {
        return snapshot.models();
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
            throw new IllegalStateException(field + ": is required");
        }
        return value;
    }

    private static BigDecimal optional(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        BigDecimal d;
        try {
            d = new BigDecimal(v.asText());
        } catch (NumberFormatException e) {
            throw new IllegalStateException(field + ": must be a decimal number, not " + v);
        }
        if (d.signum() < 0) {
            throw new IllegalStateException(field + ": must not be negative");
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
        Map<String, ModelPrice> byName = snapshot.byName();
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
        return snapshot.models().stream().filter(m -> !m.retiredAt(now)).toList();
    }

    public boolean retired(ModelPrice model) {
        return model.retiredAt(clock.instant());
    }

    public CostCalculator calculator() {
        return calculator;
    }
}
