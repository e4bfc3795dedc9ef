package dev.tollgate.reports;

import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.UsageSources;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Usage across accounts, summed from the roll-ups ({@link UsageSources}): the totals of each hour
 * across accounts, or each account's days, and the hourly roll-up only for the hours not rolled
 * yet; so the work depends on the hours, models and upstreams (or accounts and keys per day) in
 * the range, never on the number of records. The sums are exact: every record is in exactly one
 * hour row, each hour is read from exactly one roll-up, and roll-ups are sums of whole hours.
 */
@ApplicationScoped
public class UsageReport {

    /** Beyond this the report is refused with a hint to narrow it. */
    static final int MAX_ROWS = 100_000;

    /** A dimension a report can be grouped by, and the columns it shows. */
    public enum Dimension {
        DAY, HOUR, MODEL, ACCOUNT, KEY, UPSTREAM;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The column names of this dimension, in order. */
        public List<String> columns() {
            return switch (this) {
                case DAY -> List.of("day");
                case HOUR -> List.of("hour");
                case MODEL -> List.of("model");
                case ACCOUNT -> List.of("account_id", "account_name");
                case KEY -> List.of("key_id", "key_name");
                case UPSTREAM -> List.of("upstream_id", "upstream_name");
            };
        }

        String groupExpression() {
            return switch (this) {
                case DAY -> "date_trunc('day', h.hour, 'UTC')";
                case HOUR -> "h.hour";
                case MODEL -> "h.model";
                case ACCOUNT -> "h.account_id";
                case KEY -> "h.key_id";
                case UPSTREAM -> "h.upstream_id";
            };
        }
    }

    /** One row: the dimension values (column → value, in column order) and the sums. */
    public record Row(List<Object> values, long calls, long inputTokens, long outputTokens, long cacheCreation5m,
                      long cacheCreation1h, long cacheRead, long costNanos, long upstreamCostNanos) {

        public long marginNanos() {
            return costNanos - upstreamCostNanos;
        }
    }

    /** Thrown when the report would have more than {@link #MAX_ROWS} rows. */
    public static final class TooManyRows extends RuntimeException {
        TooManyRows() {
            super(null, null, false, false);
        }
    }

    private static final UUID NIL = new UUID(0, 0);
    private static final UUID NO_UPSTREAM = new UUID(-1L, -1L);

    private final AgroalDataSource dataSource;

    public UsageReport(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** The rows of [from, to) (whole UTC hours) grouped by {@code groupBy} (none: one row), in dimension order. */
    public List<Row> rows(Instant from, Instant to, List<Dimension> groupBy) {
        StringBuilder groups = new StringBuilder();
        for (int i = 0; i < groupBy.size(); i++) {
            groups.append(groupBy.get(i).groupExpression()).append(" AS d").append(i).append(", ");
        }
        String groupList = groupBy.isEmpty() ? "" : " GROUP BY " + String.join(", ",
                java.util.stream.IntStream.range(0, groupBy.size()).mapToObj(i -> "d" + i).toList());
        StringBuilder select = new StringBuilder("SELECT ");
        StringBuilder joins = new StringBuilder();
        for (int i = 0; i < groupBy.size(); i++) {
            Dimension d = groupBy.get(i);
            String col = "r.d" + i;
            switch (d) {
                case ACCOUNT -> {
                    select.append(col).append(", a").append(i).append(".name, ");
                    joins.append(" LEFT JOIN accounts a").append(i).append(" ON a").append(i).append(".id = ").append(col);
                }
                case KEY -> {
                    select.append(col).append(", k").append(i).append(".name, ");
                    joins.append(" LEFT JOIN api_keys k").append(i).append(" ON k").append(i).append(".id = ").append(col);
                }
                case UPSTREAM -> {
                    select.append(col).append(", CASE WHEN ").append(col).append(" = '00000000-0000-0000-0000-000000000000'")
                            .append(" THEN 'default' ELSE u").append(i).append(".name END, ");
                    joins.append(" LEFT JOIN upstreams u").append(i).append(" ON u").append(i).append(".id = ").append(col);
                }
                default -> select.append(col).append(", ");
            }
        }
        String sql = select + "r.calls, r.input, r.output, r.w5m, r.w1h, r.read, r.cost, r.upstream_cost FROM ("
                + "SELECT " + groups + "sum(h.requests) AS calls, sum(h.input_tokens) AS input,"
                + " sum(h.output_tokens) AS output, sum(h.cache_creation_5m_input_tokens) AS w5m,"
                + " sum(h.cache_creation_1h_input_tokens) AS w1h, sum(h.cache_read_input_tokens) AS read,"
                + " sum(h.cost) AS cost, sum(h.upstream_cost) AS upstream_cost"
                + " FROM " + UsageSources.of(grain(groupBy), from, to, null) + groupList
                + " HAVING sum(h.requests) > 0) r" + joins
                + (groupBy.isEmpty() ? "" : " ORDER BY " + String.join(", ",
                java.util.stream.IntStream.range(0, groupBy.size()).mapToObj(i -> "r.d" + i).toList()))
                + " LIMIT " + (MAX_ROWS + 1);
        List<Row> rows = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rows.size() == MAX_ROWS) {
                        throw new TooManyRows();
                    }
                    List<Object> values = new ArrayList<>();
                    int col = 1;
                    for (Dimension d : groupBy) {
                        switch (d) {
                            case DAY -> values.add(LocalDate.ofInstant(rs.getTimestamp(col++).toInstant(), ZoneOffset.UTC));
                            case HOUR -> values.add(rs.getTimestamp(col++).toInstant());
                            case MODEL -> values.add(rs.getString(col++));
                            case ACCOUNT, KEY, UPSTREAM -> {
                                UUID id = rs.getObject(col++, UUID.class);
                                String name = rs.getString(col++);
                                boolean none = d == Dimension.KEY ? NIL.equals(id) : d == Dimension.UPSTREAM && NO_UPSTREAM.equals(id);
                                values.add(none ? null : id);
                                values.add(none ? null : name);
                            }
                        }
                    }
                    rows.add(new Row(values, rs.getLong(col), rs.getLong(col + 1), rs.getLong(col + 2), rs.getLong(col + 3),
                            rs.getLong(col + 4), rs.getLong(col + 5), rs.getLong(col + 6), rs.getLong(col + 7)));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("usage report failed", e);
        }
        return rows;
    }

    /**
     * What the calls {@code upstream} served today and this month (UTC) cost at list price (its
     * bill, not what customers were charged), in nano-USD: {today, month}. One row per day.
     */
    public long[] upstreamSpend(UUID upstream) {
        Instant now = Instant.now();
        LocalDate today = LocalDate.ofInstant(now, ZoneOffset.UTC);
        Instant month = today.withDayOfMonth(1).atStartOfDay(ZoneOffset.UTC).toInstant();
        Instant nextHour = now.truncatedTo(ChronoUnit.HOURS).plus(1, ChronoUnit.HOURS);
        long[] spend = new long[2];
        for (Row r : rows(month, nextHour, List.of(Dimension.DAY, Dimension.UPSTREAM))) {
            if (upstream.equals(r.values().get(1))) {
                spend[0] += today.equals(r.values().get(0)) ? r.upstreamCostNanos() : 0;
                spend[1] += r.upstreamCostNanos();
            }
        }
        return spend;
    }

    /**
     * The coarsest roll-up that has the dimensions: without account or key, the totals across
     * accounts; with one and no time, the whole range (per key when grouped by account or key
     * alone); else per day unless grouped by hour.
     */
    static UsageSources.Grain grain(List<Dimension> groupBy) {
        if (!groupBy.contains(Dimension.ACCOUNT) && !groupBy.contains(Dimension.KEY)) {
            return UsageSources.Grain.ALL_HOURS;
        }
        if (groupBy.contains(Dimension.HOUR)) {
            return UsageSources.Grain.HOURS;
        }
        if (groupBy.contains(Dimension.DAY)) {
            return UsageSources.Grain.DAYS;
        }
        return groupBy.stream().allMatch(d -> d == Dimension.ACCOUNT || d == Dimension.KEY)
                ? UsageSources.Grain.KEYS_OVER_RANGE : UsageSources.Grain.COMBINATIONS_OVER_RANGE;
    }

    /** The sum of {@code rows}. */
    public static Row totals(List<Row> rows) {
        long calls = 0, in = 0, out = 0, w5m = 0, w1h = 0, read = 0, cost = 0, upstream = 0;
        for (Row r : rows) {
            calls += r.calls();
            in += r.inputTokens();
            out += r.outputTokens();
            w5m += r.cacheCreation5m();
            w1h += r.cacheCreation1h();
            read += r.cacheRead();
            cost += r.costNanos();
            upstream += r.upstreamCostNanos();
        }
        return new Row(List.of(), calls, in, out, w5m, w1h, read, cost, upstream);
    }
}
