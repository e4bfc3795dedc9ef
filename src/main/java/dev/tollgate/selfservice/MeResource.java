package dev.tollgate.selfservice;

import dev.tollgate.admin.Listings;
import dev.tollgate.admin.Views;
import dev.tollgate.api.PageCursor;
import dev.tollgate.api.ApiException;
import dev.tollgate.gateway.Gateway;
import dev.tollgate.keys.ApiKey;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.ledger.Account;
import dev.tollgate.ledger.CreditLots;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.Money;
import dev.tollgate.ledger.UsageRecord;
import io.agroal.api.AgroalDataSource;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Self-service for developers, authenticated with their own key: their balance, limits and
 * spend, and their usage. A key only ever sees its own account.
 */
@Path("/v1/me")
@Produces(MediaType.APPLICATION_JSON)
public class MeResource {

    private final Gateway gateway;
    private final AgroalDataSource dataSource;
    private final CreditLots lots;

    public MeResource(Gateway gateway, AgroalDataSource dataSource, CreditLots lots) {
        this.gateway = gateway;
        this.lots = lots;
        this.dataSource = dataSource;
    }

    @GET
    public Map<String, Object> me(@Context HttpServerRequest request) {
        AuthenticatedKey auth = gateway.authenticate(request);
        return me(auth.id(), auth.accountId());
    }

    /** What {@code GET /v1/me} answers the key {@code keyId} of {@code accountId} (the portal shows it). */
    public Map<String, Object> me(UUID keyId, UUID accountId) {
        ApiKey key = ApiKey.findById(keyId);
        Account account = Account.findById(accountId);
        Map<String, Object> keyView = new LinkedHashMap<>();
        keyView.put("id", key.id);
        keyView.put("name", key.name);
        keyView.put("prefix", key.prefix);
        keyView.put("expires_at", key.expiresAt);
        keyView.put("allowed_models", key.allowedModels);
        keyView.put("allowed_ips", key.allowedCidrs);
        keyView.put("limits", Views.Limits.of(key.getLimits()));
        keyView.put("spend", spend(key.id, true));

        Map<String, Object> accountView = new LinkedHashMap<>();
        accountView.put("id", account.id);
        accountView.put("name", account.name);
        accountView.put("balance_usd", Money.format(account.balance));
        accountView.put("held_usd", Money.format(account.held));
        accountView.put("available_usd", Money.format(account.balance - account.held));
        accountView.put("low_balance_threshold_usd",
                account.lowBalanceThreshold == null ? null : Money.format(account.lowBalanceThreshold));
        accountView.put("low_balance_since", account.lowBalanceSince);
        accountView.put("limits", Views.Limits.of(account.getLimits()));
        accountView.put("spend", spend(account.id, false));
        accountView.put("credit_lots", lots.view(account.id).stream().map(Views.CreditLotView::of).toList());

        Map<String, Object> body = new LinkedHashMap<>();
        body.put("key", keyView);
        body.put("account", accountView);
        return body;
    }

    /**
     * The account's usage records, newest first, with totals over the whole [from, to) range;
     * {@code from} defaults to the start of the current UTC month, so the totals stay a bounded
     * read for accounts with long histories.
     */
    @GET
    @Path("/usage")
    public Map<String, Object> usage(@Context HttpServerRequest request, @QueryParam("limit") Integer limit,
                                     @QueryParam("from") String from, @QueryParam("to") String to,
                                     @QueryParam("cursor") String cursor) {
        return usage(gateway.authenticate(request).accountId(), limit, from, to, cursor);
    }

    /** What {@code GET /v1/me/usage} answers for the account {@code accountId} (the portal shows it). */
    public Map<String, Object> usage(UUID accountId, Integer limit, String from, String to, String cursor) {
        int size = PageCursor.limit(limit, 1000);
        PageCursor after = PageCursor.decode(cursor);
        Instant fromTime = instant("from", from, java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)
                .withDayOfMonth(1).toLocalDate().atStartOfDay(java.time.ZoneOffset.UTC).toInstant());
        Instant toTime = instant("to", to, Instant.parse("9999-12-31T00:00:00Z"));
        List<UsageRecord> records = Listings.usageRecords(accountId, fromTime, toTime, size, after);
        Views.CursorPage<Map<String, Object>> page = Listings.page(records.stream().map(MeResource::record).toList(),
                Listings.positions(records), size);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("data", page.data());
        body.put("next_cursor", page.nextCursor());
        body.put("totals", totals(accountId, fromTime, toTime));
        return body;
    }

    private static Instant instant(String field, String text, Instant absent) {
        if (text == null) {
            return absent;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw ApiException.invalidRequest(field + ": must be an RFC 3339 time such as 2026-11-01T00:00:00Z");
        }
    }

    private static Map<String, Object> record(UsageRecord u) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("request_id", u.requestId);
        r.put("key_id", u.keyId);
        r.put("model", u.model);
        r.put("input_tokens", u.inputTokens);
        r.put("output_tokens", u.outputTokens);
        r.put("cache_creation_5m_input_tokens", u.cacheCreation5mInputTokens);
        r.put("cache_creation_1h_input_tokens", u.cacheCreation1hInputTokens);
        r.put("cache_read_input_tokens", u.cacheReadInputTokens);
        r.put("cost_usd", Money.format(u.cost));
        r.put("status", u.status);
        r.put("stream", u.stream);
        r.put("endpoint", u.endpoint);
        if (u.batchId != null) {
            r.put("batch_id", u.batchId);
            r.put("custom_id", u.customId);
        }
        r.put("created_at", u.createdAt);
        return r;
    }

    /**
     * Totals over [from, to): whole UTC hours from the hourly roll-ups, the partial hours at either
     * edge from the records themselves, so the read stays small however many calls the range holds.
     */
    private Map<String, Object> totals(UUID account, Instant from, Instant to) {
        Instant hourOfFrom = from.truncatedTo(ChronoUnit.HOURS);
        Instant wholeFrom = hourOfFrom.equals(from) ? from : hourOfFrom.plus(1, ChronoUnit.HOURS);
        Instant wholeTo = to.truncatedTo(ChronoUnit.HOURS);
        Instant headEnd = wholeFrom.isBefore(to) ? wholeFrom : to;
        Instant tailStart = Collections.max(List.of(wholeTo, wholeFrom, from));
        // Each part a plain range on an index (the bounds are parameters, not expressions the
        // planner would have to see through): the hours, then the records of each partial edge.
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT coalesce(sum(requests), 0), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
                       coalesce(sum(cache_creation_5m_input_tokens), 0), coalesce(sum(cache_creation_1h_input_tokens), 0),
                       coalesce(sum(cache_read_input_tokens), 0), coalesce(sum(cost), 0)
                FROM (SELECT requests, input_tokens, output_tokens, cache_creation_5m_input_tokens,
                             cache_creation_1h_input_tokens, cache_read_input_tokens, cost
                      FROM usage_hourly WHERE account_id = ? AND hour >= ? AND hour < ?
                      UNION ALL
                      SELECT 1, input_tokens, output_tokens, cache_creation_5m_input_tokens,
                             cache_creation_1h_input_tokens, cache_read_input_tokens, cost
                      FROM usage_records WHERE account_id = ? AND created_at >= ? AND created_at < ?
                      UNION ALL
                      SELECT 1, input_tokens, output_tokens, cache_creation_5m_input_tokens,
                             cache_creation_1h_input_tokens, cache_read_input_tokens, cost
                      FROM usage_records WHERE account_id = ? AND created_at >= ? AND created_at < ?) parts
                """)) {
            Object[] params = {account, wholeFrom, wholeTo, account, from, headEnd, account, tailStart, to};
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i] instanceof Instant at ? java.sql.Timestamp.from(at) : params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Map<String, Object> t = new LinkedHashMap<>();
                t.put("requests", rs.getLong(1));
                t.put("input_tokens", rs.getLong(2));
                t.put("output_tokens", rs.getLong(3));
                t.put("cache_creation_5m_input_tokens", rs.getLong(4));
                t.put("cache_creation_1h_input_tokens", rs.getLong(5));
                t.put("cache_read_input_tokens", rs.getLong(6));
                t.put("cost_usd", Money.format(rs.getLong(7)));
                return t;
            }
        } catch (SQLException e) {
            throw new LedgerException("usage totals failed", e);
        }
    }

    /**
     * Spend of the current UTC day and month, lifetime, and in flight: from the limit counters when
     * the subject has limits (they are kept exactly then), otherwise from its hourly usage roll-ups
     * (UTC days and months start on whole hours) and holds.
     */
    private Map<String, Object> spend(UUID subject, boolean isKey) {
        String column = isKey ? "key_id" : "account_id";
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT CASE WHEN day = (now() AT TIME ZONE 'UTC')::date THEN day_spent ELSE 0 END,
                       CASE WHEN month = date_trunc('month', now() AT TIME ZONE 'UTC')::date THEN month_spent ELSE 0 END,
                       lifetime_spent, inflight_held, inflight
                FROM limit_counters WHERE subject_id = ?
                UNION ALL
                SELECT (SELECT coalesce(sum(cost), 0) FROM usage_hourly WHERE %1$s = ?
                          AND hour >= date_trunc('day', now(), 'UTC')),
                       (SELECT coalesce(sum(cost), 0) FROM usage_hourly WHERE %1$s = ?
                          AND hour >= date_trunc('month', now(), 'UTC')),
                       (SELECT coalesce(sum(cost), 0) FROM usage_hourly WHERE %1$s = ?),
                       (SELECT coalesce(sum(amount), 0) FROM holds WHERE %1$s = ? AND state = 'pending'),
                       (SELECT count(*)::int FROM holds WHERE %1$s = ? AND state = 'pending')
                WHERE NOT EXISTS (SELECT 1 FROM limit_counters WHERE subject_id = ?)
                """.formatted(column))) {
            for (int i = 1; i <= 7; i++) {
                ps.setObject(i, subject);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("today_usd", Money.format(rs.getLong(1)));
                s.put("this_month_usd", Money.format(rs.getLong(2)));
                s.put("lifetime_usd", Money.format(rs.getLong(3)));
                s.put("in_flight_usd", Money.format(rs.getLong(4)));
                s.put("in_flight_requests", rs.getInt(5));
                return s;
            }
        } catch (SQLException e) {
            throw new LedgerException("spend lookup failed", e);
        }
    }
}
