package dev.tollgate.admin;

import dev.tollgate.api.ApiException;
import dev.tollgate.api.PageCursor;
import dev.tollgate.keys.ApiKey;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.ledger.Money;
import dev.tollgate.ledger.UsageRecord;
import io.agroal.api.AgroalDataSource;
import io.quarkus.panache.common.Page;
import io.quarkus.panache.common.Parameters;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * The operator's listings, newest first with (created_at, id) keyset cursors, each page a range
 * read of an index however long the table: accounts and keys searched by a prefix of their name
 * (any case), of their id, or (keys) of the key as displayed; an account's usage over a time range.
 */
@ApplicationScoped
public class Listings {

    static final int MAX_PAGE = 1000;

    private final AgroalDataSource dataSource;

    public Listings(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * A search's parts: LIKE patterns for names (lower case) and for prefixes as given, and the id
     * range an id prefix stands for (null if the query is not hex).
     */
    record Search(String like, String exact, UUID low, UUID high) {
        static Search of(String query) {
            if (query == null || query.isBlank()) {
                return null;
            }
            String q = query.strip();
            if (q.length() > 200) {
                throw ApiException.invalidRequest("query: at most 200 characters");
            }
            String exact = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
            String like = exact.toLowerCase(Locale.ROOT);
            String hex = q.replace("-", "").toLowerCase(Locale.ROOT);
            if (hex.isEmpty() || hex.length() > 32 || !hex.chars().allMatch(ch -> Character.digit(ch, 16) >= 0)) {
                return new Search(like, exact, null, null);
            }
            return new Search(like, exact, uuid(hex + "0".repeat(32 - hex.length())), uuid(hex + "f".repeat(32 - hex.length())));
        }

        private static UUID uuid(String hex) {
            return UUID.fromString(hex.substring(0, 8) + "-" + hex.substring(8, 12) + "-" + hex.substring(12, 16) + "-"
                    + hex.substring(16, 20) + "-" + hex.substring(20));
        }
    }

    /** Accounts, newest first: id, name, balance, held, available, plan_id (once plans exist), created_at. */
    public Views.CursorPage<Map<String, Object>> accounts(String query, Integer limit, String cursor) {
        int size = PageCursor.limit(limit, MAX_PAGE);
        PageCursor after = PageCursor.decode(cursor);
        UUID afterId = after == null ? null : after.uuid();
        Search search = Search.of(query);
        StringBuilder sql = new StringBuilder("SELECT * FROM accounts WHERE TRUE");
        List<Object> params = new ArrayList<>();
        if (search != null) {
            sql.append(" AND (lower(name) LIKE ? ESCAPE '\\'");
            params.add(search.like());
            if (search.low() != null) {
                sql.append(" OR id BETWEEN ? AND ?");
                params.add(search.low());
                params.add(search.high());
            }
            sql.append(")");
        }
        if (after != null) {
            sql.append(" AND (created_at, id) < (?, ?)");
            params.add(Timestamp.from(after.createdAt()));
            params.add(afterId);
        }
        sql.append(" ORDER BY created_at DESC, id DESC LIMIT ?");
        params.add(size + 1);
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql.toString())) {
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i));
            }
            List<Map<String, Object>> rows = new ArrayList<>();
            List<PageCursor> positions = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                boolean plans = hasColumn(rs.getMetaData(), "plan_id");
                while (rs.next()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    UUID id = rs.getObject("id", UUID.class);
                    Instant createdAt = rs.getTimestamp("created_at").toInstant();
                    long balance = rs.getLong("balance");
                    long held = rs.getLong("held");
                    row.put("id", id);
                    row.put("name", rs.getString("name"));
                    row.put("balance_usd", Money.format(balance));
                    row.put("held_usd", Money.format(held));
                    row.put("available_usd", Money.format(balance - held));
                    if (plans) {
                        row.put("plan_id", rs.getObject("plan_id"));
                    }
                    row.put("created_at", createdAt);
                    rows.add(row);
                    positions.add(new PageCursor(createdAt, id.toString()));
                }
            }
            return page(rows, positions, size);
        } catch (SQLException e) {
            throw new LedgerException("listing accounts failed", e);
        }
    }

    private static boolean hasColumn(ResultSetMetaData meta, String name) throws SQLException {
        for (int i = 1; i <= meta.getColumnCount(); i++) {
            if (meta.getColumnName(i).equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    /** Keys, newest first, optionally of one account; never their secrets. */
    public Views.CursorPage<Views.KeyView> keys(String query, String accountId, Integer limit, String cursor) {
        int size = PageCursor.limit(limit, MAX_PAGE);
        PageCursor after = PageCursor.decode(cursor);
        Search search = Search.of(query);
        StringBuilder hql = new StringBuilder("1 = 1");
        Parameters params = new Parameters();
        if (accountId != null) {
            try {
                params.and("account", UUID.fromString(accountId));
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidRequest("account_id: must be an account id");
            }
            hql.append(" and accountId = :account");
        }
        if (search != null) {
            hql.append(" and (lower(name) like :like escape '\\' or prefix like :prefix escape '\\'");
            params.and("like", search.like()).and("prefix", search.exact());
            if (search.low() != null) {
                hql.append(" or id between :low and :high");
                params.and("low", search.low()).and("high", search.high());
            }
            hql.append(")");
        }
        if (after != null) {
            // createdAt <= :at as well: an index condition, so a page starts at the cursor rather than
            // reading every newer row again.
            hql.append(" and createdAt <= :at and (createdAt < :at or (createdAt = :at and id < :id))");
            params.and("at", after.createdAt()).and("id", after.uuid());
        }
        hql.append(" order by createdAt desc, id desc");
        List<ApiKey> keys = ApiKey.find(hql.toString(), params).page(Page.ofSize(size + 1)).list();
        List<Views.KeyView> rows = keys.stream().map(Views.KeyView::of).toList();
        List<PageCursor> positions = keys.stream().map(k -> new PageCursor(k.createdAt, k.id.toString())).toList();
        return page(rows, positions, size);
    }

    /** An account's usage records in [from, to) (either may be absent), newest first. */
    public Views.CursorPage<Views.UsageView> usage(UUID accountId, Instant from, Instant to, Integer limit,
                                                   String cursor) {
        int size = PageCursor.limit(limit, MAX_PAGE);
        List<UsageRecord> records = usageRecords(accountId, from, to, size, PageCursor.decode(cursor));
        return page(records.stream().map(Views.UsageView::of).toList(), positions(records), size);
    }

    /**
     * {@code size + 1} of an account's records in [from, to) after the cursor, newest first (the
     * one more tells whether a next page exists): in the order of the (account_id, created_at DESC,
     * id DESC) index, so a page reads only its own rows.
     */
    public static List<UsageRecord> usageRecords(UUID accountId, Instant from, Instant to, int size, PageCursor after) {
        StringBuilder hql = new StringBuilder("accountId = :account");
        Parameters params = Parameters.with("account", accountId);
        if (from != null) {
            hql.append(" and createdAt >= :from");
            params.and("from", from);
        }
        if (to != null) {
            hql.append(" and createdAt < :to");
            params.and("to", to);
        }
        if (after != null) {
            // createdAt <= :at as well: an index condition, so a page starts at the cursor rather than
            // reading every newer row again.
            hql.append(" and createdAt <= :at and (createdAt < :at or (createdAt = :at and id < :id))");
            params.and("at", after.createdAt()).and("id", after.longId());
        }
        hql.append(" order by createdAt desc, id desc");
        return UsageRecord.find(hql.toString(), params).page(Page.ofSize(size + 1)).list();
    }

    public static List<PageCursor> positions(List<UsageRecord> records) {
        return records.stream().map(u -> new PageCursor(u.createdAt, Long.toString(u.id))).toList();
    }

    /** Drops the look-ahead row; next_cursor points after the last row kept. */
    public static <T> Views.CursorPage<T> page(List<T> rows, List<PageCursor> positions, int size) {
        if (rows.size() <= size) {
            return new Views.CursorPage<>(rows, null);
        }
        return new Views.CursorPage<>(List.copyOf(rows.subList(0, size)), positions.get(size - 1).encode());
    }

    /** An RFC 3339 time, or null when absent; 400 naming the field otherwise. */
    public static Instant instant(String field, String text) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (java.time.format.DateTimeParseException e) {
            throw ApiException.invalidRequest(field + ": must be an RFC 3339 time such as 2026-11-01T00:00:00Z");
        }
    }
}
