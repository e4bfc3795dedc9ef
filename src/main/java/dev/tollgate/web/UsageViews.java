package dev.tollgate.web;

import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.Money;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceTable;
import dev.tollgate.ledger.UsageSources;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The numbers of the console's and the portal's pages, read from the roll-ups
 * ({@link UsageSources}) through an index, never by scanning usage records: an account's page
 * reads its days of the range and its hours not rolled yet, the dashboard the totals of each hour
 * across accounts. Series and cache savings are split by model, which the roll-ups carry.
 */
@ApplicationScoped
public class UsageViews {

    private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);
    private static final Instant FAR = Instant.parse("9999-12-31T00:00:00Z");

    private final AgroalDataSource dataSource;
    private final PriceTable prices;

    public UsageViews(AgroalDataSource dataSource, PriceTable prices) {
        this.dataSource = dataSource;
        this.prices = prices;
    }

    /** Token and cost totals of a range, by model where the roll-up has it. */
    @io.quarkus.qute.TemplateData
    public record Totals(long requests, long input, long output, long cacheWrite, long cacheRead, long cost,
                         long upstreamCost, long savedNanos, boolean savingsKnown) {

        static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, 0, 0, true);

        /** What the upstreams billed for these calls (at list price). */
        public String upstreamCostUsd() {
            return Money.format(upstreamCost);
        }

        /** Charged less upstream cost. */
        public String marginUsd() {
            return Money.format(cost - upstreamCost);
        }

        /** Cache reads ÷ (reads + writes + uncached input). */
        public String hitRate() {
            long all = cacheRead + cacheWrite + input;
            return all == 0 ? "–" : BigDecimal.valueOf(cacheRead * 100).divide(BigDecimal.valueOf(all), 1,
                    RoundingMode.HALF_UP).toPlainString() + "%";
        }

        public String costUsd() {
            return Money.format(cost);
        }

        public String savedUsd() {
            return savingsKnown ? Money.format(savedNanos) : null;
        }

        public Totals plus(Totals o) {
            return new Totals(requests + o.requests, input + o.input, output + o.output, cacheWrite + o.cacheWrite,
                    cacheRead + o.cacheRead, cost + o.cost, upstreamCost + o.upstreamCost, savedNanos + o.savedNanos,
                    savingsKnown && o.savingsKnown);
        }
    }

    /** Start of the current UTC day and month (the roll-up's hours are UTC). */
    public static Instant dayStart() {
        return Instant.now().truncatedTo(ChronoUnit.DAYS);
    }

    public static Instant monthStart() {
        return ZonedDateTime.now(ZoneOffset.UTC).withDayOfMonth(1).truncatedTo(ChronoUnit.DAYS).toInstant();
    }

    /** Totals since {@code from} of one account, or of all (account null). */
    public Totals totals(UUID account, Instant from) {
        return totals(account, from, FAR);
    }

    /** Totals of [from, to) of one account, or of all (account null). */
    public Totals totals(UUID account, Instant from, Instant to) {
        Totals t = Totals.ZERO;
        for (Row r : rows(account, from, to, null)) {
            t = t.plus(r.totals);
        }
        return t;
    }

    /**
     * A chart's data: one point per UTC day (or hour) since {@code from}, one series of cost in USD
     * per model (or one, "all models"). {@code {"x": [epoch seconds], "series": [{"label", "values"}]}}.
     */
    public Map<String, Object> series(UUID account, Instant from, boolean hourly, boolean requests) {
        List<Row> rows = rows(account, from, FAR, hourly ? UsageSources.Grain.HOURS : UsageSources.Grain.DAYS);
        ChronoUnit unit = hourly ? ChronoUnit.HOURS : ChronoUnit.DAYS;
        TreeMap<Long, Integer> slots = new TreeMap<>();
        for (Instant t = from.truncatedTo(unit); t.isBefore(Instant.now()); t = t.plus(1, unit)) {
            slots.put(t.getEpochSecond(), slots.size());
        }
        Map<String, double[]> byLabel = new TreeMap<>();
        for (Row r : rows) {
            Integer slot = slots.get(r.hour.truncatedTo(unit).getEpochSecond());
            if (slot == null) {
                continue;
            }
            double[] values = byLabel.computeIfAbsent(r.model == null ? "all models" : r.model, k -> new double[slots.size()]);
            values[slot] += requests ? r.totals.requests : r.totals.cost / 1e9;
        }
        List<Map<String, Object>> series = new ArrayList<>();
        byLabel.forEach((label, values) -> series.add(Map.of("label", label, "values", values)));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("x", slots.keySet());
        out.put("series", series);
        out.put("unit", requests ? "calls" : "USD");
        return out;
    }

    /** Calls and failed calls per hour over the last 24 hours, of all accounts. */
    public Map<String, Object> callsAndErrors24h() {
        Instant from = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(23, ChronoUnit.HOURS);
        TreeMap<Long, Integer> slots = new TreeMap<>();
        for (int i = 0; i < 24; i++) {
            slots.put(from.plus(i, ChronoUnit.HOURS).getEpochSecond(), i);
        }
        double[] calls = new double[24];
        double[] errors = new double[24];
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT hour, sum(requests) FROM "
                    + UsageSources.of(UsageSources.Grain.ALL_HOURS, from, until(FAR), null) + " GROUP BY hour")) {
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Integer slot = slots.get(rs.getTimestamp(1).toInstant().getEpochSecond());
                        if (slot != null) {
                            calls[slot] = rs.getLong(2);
                        }
                    }
                }
            }
            // The partial index of failed calls (V15): only they are read.
            try (PreparedStatement ps = c.prepareStatement("""
                    SELECT date_trunc('hour', created_at, 'UTC'), count(*) FROM usage_records
                    WHERE created_at >= ? AND status IN ('upstream_error', 'stream_error') GROUP BY 1""")) {
                ps.setTimestamp(1, Timestamp.from(from));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Integer slot = slots.get(rs.getTimestamp(1).toInstant().getEpochSecond());
                        if (slot != null) {
                            errors[slot] = rs.getLong(2);
                        }
                    }
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("reading calls per hour failed", e);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("x", slots.keySet());
        out.put("series", List.of(Map.of("label", "calls", "values", calls), Map.of("label", "errors", "values", errors)));
        out.put("unit", "calls");
        return out;
    }

    /** Calls and cost of every account with calls in [from, to): {requests, cost} by account. */
    public Map<UUID, long[]> accountSpend(Instant from, Instant to) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT account_id, sum(requests), sum(cost) FROM "
                        + UsageSources.of(UsageSources.Grain.DAYS, from, until(to), null) + " GROUP BY account_id")) {
            Map<UUID, long[]> out = new java.util.HashMap<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getObject(1, UUID.class), new long[] {rs.getLong(2), rs.getLong(3)});
                }
            }
            return out;
        } catch (SQLException e) {
            throw new LedgerException("reading spend by account failed", e);
        }
    }

    /** The {@code limit} accounts of {@code spend} that spent most, with their names: id, name, requests, cost_usd. */
    public List<Map<String, Object>> top(Map<UUID, long[]> spend, int limit) {
        List<Map.Entry<UUID, long[]>> top = spend.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1])).limit(limit).toList();
        Map<UUID, String> names = new java.util.HashMap<>();
        if (!top.isEmpty()) {
            try (Connection c = dataSource.getConnection();
                 PreparedStatement ps = c.prepareStatement("SELECT id, name FROM accounts WHERE id = ANY(?)")) {
                ps.setArray(1, c.createArrayOf("uuid", top.stream().map(Map.Entry::getKey).toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        names.put(rs.getObject(1, UUID.class), rs.getString(2));
                    }
                }
            } catch (SQLException e) {
                throw new LedgerException("reading account names failed", e);
            }
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map.Entry<UUID, long[]> e : top) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", e.getKey().toString());
            m.put("name", names.getOrDefault(e.getKey(), e.getKey().toString()));
            m.put("requests", e.getValue()[0]);
            m.put("cost_usd", Money.format(e.getValue()[1]));
            out.add(m);
        }
        return out;
    }

    private record Row(Instant hour, String model, Totals totals) {
    }

    /** {@code to}, or the end of the current hour if that is sooner (nothing is later). */
    private static Instant until(Instant to) {
        Instant next = Instant.now().truncatedTo(ChronoUnit.HOURS).plus(1, ChronoUnit.HOURS);
        return to.isAfter(next) ? next : to;
    }

    /**
     * The roll-ups' rows of [from, to), per model, and per hour (or day, as {@code grain} says; null:
     * the range's totals). One account's come from its days and hours, all accounts' from the totals.
     */
    private List<Row> rows(UUID account, Instant from, Instant to, UsageSources.Grain grain) {
        UsageSources.Grain source = account == null ? UsageSources.Grain.ALL_HOURS
                : grain == null ? UsageSources.Grain.DAYS : grain;
        String group = (grain == null ? "NULL::timestamptz" : "hour") + ", model";
        if (!until(to).isAfter(from)) {
            return List.of();
        }
        String sql = """
                SELECT %s, sum(requests), sum(input_tokens), sum(output_tokens),
                       sum(cache_creation_5m_input_tokens + cache_creation_1h_input_tokens),
                       sum(cache_read_input_tokens), sum(cost), sum(upstream_cost)
                FROM %s GROUP BY 1, 2""".formatted(group, UsageSources.of(source, from, until(to), account));
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            List<Row> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Timestamp hour = rs.getTimestamp(1);
                    String model = rs.getString(2);
                    long read = rs.getLong(7);
                    long saved = 0;
                    boolean known = model != null || read == 0;
                    if (model != null && read > 0) {
                        saved = savedNanos(model, read);
                    }
                    out.add(new Row(hour == null ? null : hour.toInstant(), model, new Totals(rs.getLong(3),
                            rs.getLong(4), rs.getLong(5), rs.getLong(6), read, rs.getLong(8), rs.getLong(9), saved, known)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new LedgerException("reading usage roll-ups failed", e);
        }
    }

    /** What {@code read} cache-read tokens would have cost as uncached input, less what they cost. */
    private long savedNanos(String model, long read) {
        return prices.resolve(model).map(r -> {
            ModelPrice p = r.price();
            BigDecimal cacheRead = p.cacheRead() != null ? p.cacheRead() : p.input().multiply(new BigDecimal("0.1"));
            BigDecimal usd = p.input().subtract(cacheRead).multiply(BigDecimal.valueOf(read)).divide(MILLION);
            return Money.toNanos(usd);
        }).orElse(0L);
    }
}
