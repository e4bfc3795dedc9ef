package dev.tollgate.reports;

import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Money;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code GET /admin/v1/reports/usage}: calls, tokens, revenue, upstream cost and margin over a range
 * of whole UTC hours, grouped by one or two dimensions; JSON, or CSV with {@code Accept: text/csv}
 * or {@code format=csv}. Guarded by the admin filter.
 */
@Path("/admin/v1/reports")
public class ReportsResource {

    static final String CSV = "text/csv";
    private static final Duration MAX_RANGE = Duration.ofDays(366);
    private static final List<String> METRICS = List.of("calls", "input_tokens", "output_tokens",
            "cache_creation_5m_input_tokens", "cache_creation_1h_input_tokens", "cache_read_input_tokens", "cost_usd",
            "upstream_cost_usd", "margin_usd");

    private final UsageReport report;

    public ReportsResource(UsageReport report) {
        this.report = report;
    }

    @GET
    @Path("/usage")
    @Produces({MediaType.APPLICATION_JSON, CSV})
    public Response usage(@QueryParam("from") String fromText, @QueryParam("to") String toText,
                          @QueryParam("group_by") String groupByText, @QueryParam("format") String format,
                          @HeaderParam("Accept") String accept) {
        boolean csv;
        if (format == null || format.isEmpty()) {
            csv = accept != null && accept.toLowerCase(Locale.ROOT).contains(CSV)
                    && !accept.toLowerCase(Locale.ROOT).contains(MediaType.APPLICATION_JSON);
        } else if (format.equals("csv") || format.equals("json")) {
            csv = format.equals("csv");
        } else {
            throw ApiException.invalidRequest("format: must be json or csv");
        }
        Instant from = hour(fromText, "from");
        Instant to = hour(toText, "to");
        if (!from.isBefore(to)) {
            throw ApiException.invalidRequest("to: must be after from");
        }
        if (Duration.between(from, to).compareTo(MAX_RANGE) > 0) {
            throw ApiException.invalidRequest("to: a report covers at most 366 days; split longer ranges");
        }
        List<UsageReport.Dimension> groupBy = groupBy(groupByText);
        List<UsageReport.Row> rows;
        try {
            rows = report.rows(from, to, groupBy);
        } catch (UsageReport.TooManyRows e) {
            throw ApiException.invalidRequest("group_by: the report would have more than " + UsageReport.MAX_ROWS
                    + " rows; narrow the range or group by coarser dimensions");
        }
        UsageReport.Row totals = UsageReport.totals(rows);
        List<String> columns = new ArrayList<>();
        groupBy.forEach(d -> columns.addAll(d.columns()));
        if (csv) {
            return Response.ok(csv(columns, rows, totals), CSV + "; charset=utf-8")
                    .header("content-disposition", "attachment; filename=\"usage-" + from.toString().replace(":", "")
                            + "-" + to.toString().replace(":", "") + ".csv\"")
                    .build();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("from", from);
        body.put("to", to);
        body.put("group_by", groupBy.stream().map(UsageReport.Dimension::wire).toList());
        body.put("data", rows.stream().map(r -> json(columns, r)).toList());
        body.put("totals", json(List.of(), totals));
        return Response.ok(body, MediaType.APPLICATION_JSON).build();
    }

    /**
     * A whole UTC hour: an RFC 3339 time ("2026-12-01T00:00:00Z") or a date ("2026-12-01", its
     * midnight UTC). Hours are what the roll-up sums exactly, so a time inside an hour is refused.
     */
    static Instant hour(String text, String field) {
        if (text == null || text.isBlank()) {
            throw ApiException.invalidRequest(field + ": required, a whole UTC hour such as 2026-12-01T00:00:00Z"
                    + " or a date such as 2026-12-01");
        }
        Instant instant;
        try {
            instant = text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant()
                    : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw ApiException.invalidRequest(field + ": must be an RFC 3339 time such as 2026-12-01T00:00:00Z"
                    + " or a date such as 2026-12-01");
        }
        if (!instant.truncatedTo(ChronoUnit.HOURS).equals(instant)) {
            throw ApiException.invalidRequest(field + ": must be a whole UTC hour (reports sum whole hours exactly),"
                    + " such as " + instant.truncatedTo(ChronoUnit.HOURS));
        }
        return instant;
    }

    static List<UsageReport.Dimension> groupBy(String text) {
        List<UsageReport.Dimension> dims = new ArrayList<>();
        if (text == null || text.isBlank()) {
            return dims;
        }
        for (String part : text.split(",", -1)) {
            String name = part.trim().toLowerCase(Locale.ROOT);
            UsageReport.Dimension d = null;
            for (UsageReport.Dimension candidate : UsageReport.Dimension.values()) {
                if (candidate.wire().equals(name)) {
                    d = candidate;
                }
            }
            if (d == null) {
                throw ApiException.invalidRequest("group_by: " + (name.length() > 40 ? name.substring(0, 40) : name)
                        + " is not one of day, hour, model, account, key, upstream");
            }
            if (dims.contains(d)) {
                throw ApiException.invalidRequest("group_by: " + name + " is given twice");
            }
            dims.add(d);
        }
        if (dims.size() > 2) {
            throw ApiException.invalidRequest("group_by: at most two dimensions, comma-separated");
        }
        return dims;
    }

    private static Map<String, Object> json(List<String> columns, UsageReport.Row r) {
        Map<String, Object> row = new LinkedHashMap<>();
        for (int i = 0; i < columns.size(); i++) {
            Object v = r.values().get(i);
            row.put(columns.get(i), v == null ? null : v.toString());
        }
        row.put("calls", r.calls());
        row.put("input_tokens", r.inputTokens());
        row.put("output_tokens", r.outputTokens());
        row.put("cache_creation_5m_input_tokens", r.cacheCreation5m());
        row.put("cache_creation_1h_input_tokens", r.cacheCreation1h());
        row.put("cache_read_input_tokens", r.cacheRead());
        row.put("cost_usd", Money.format(r.costNanos()));
        row.put("upstream_cost_usd", Money.format(r.upstreamCostNanos()));
        row.put("margin_usd", Money.format(r.marginNanos()));
        return row;
    }

    /** RFC 4180: a header line, the rows, then a totals line whose first column says "total". */
    static String csv(List<String> columns, List<UsageReport.Row> rows, UsageReport.Row totals) {
        StringBuilder out = new StringBuilder();
        List<String> header = new ArrayList<>(columns.isEmpty() ? List.of("row") : columns);
        header.addAll(METRICS);
        line(out, header);
        for (UsageReport.Row r : rows) {
            List<String> cells = new ArrayList<>();
            if (columns.isEmpty()) {
                cells.add("all");
            }
            r.values().forEach(v -> cells.add(v == null ? "" : v.toString()));
            metrics(cells, r);
            line(out, cells);
        }
        List<String> cells = new ArrayList<>();
        cells.add("total");
        for (int i = 1; i < Math.max(1, columns.size()); i++) {
            cells.add("");
        }
        metrics(cells, totals);
        line(out, cells);
        return out.toString();
    }

    private static void metrics(List<String> cells, UsageReport.Row r) {
        cells.add(Long.toString(r.calls()));
        cells.add(Long.toString(r.inputTokens()));
        cells.add(Long.toString(r.outputTokens()));
        cells.add(Long.toString(r.cacheCreation5m()));
        cells.add(Long.toString(r.cacheCreation1h()));
        cells.add(Long.toString(r.cacheRead()));
        cells.add(Money.format(r.costNanos()));
        cells.add(Money.format(r.upstreamCostNanos()));
        cells.add(Money.format(r.marginNanos()));
    }

    private static void line(StringBuilder out, List<String> cells) {
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            String cell = cells.get(i);
            // Quoted when needed; a leading =, +, - or @ is prefixed so spreadsheets do not run it as a formula.
            if (!cell.isEmpty() && "=+@".indexOf(cell.charAt(0)) >= 0
                    || cell.startsWith("-") && !cell.matches("-[0-9.]+")) {
                cell = "'" + cell;
            }
            if (cell.indexOf(',') >= 0 || cell.indexOf('"') >= 0 || cell.indexOf('\n') >= 0 || cell.indexOf('\r') >= 0) {
                cell = '"' + cell.replace("\"", "\"\"") + '"';
            }
            out.append(cell);
        }
        out.append("\r\n");
    }
}
