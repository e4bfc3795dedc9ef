package dev.tollgate.ledger;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.limits.LimitExceededException;
import dev.tollgate.limits.RateWindow;
import dev.tollgate.metering.CallRecord;
import dev.tollgate.metering.TokenUsage;
import dev.tollgate.ops.LambdaBufferedResponses;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.quarkus.scheduler.Scheduled;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import org.postgresql.util.PSQLException;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The money path, in plain JDBC over the PL/pgSQL functions of the migrations. Every operation is
 * one SQL statement, so it is atomic and never holds a transaction open across an upstream call.
 * Overspending is impossible by construction: a hold is a conditional update that only succeeds
 * while balance - held covers it, evaluated under the account row's lock.
 *
 * <p>Holds and settlements go through two {@link GroupCommit} writers: the calls that arrive while
 * a batch is in the database form the next batch (tg_hold_batch, tg_settle_batch), so a hot
 * account costs one lock, one round trip and one commit per batch instead of per call. A call
 * whose key or account has limits is admitted by tg_hold on its own, because its counters are
 * checked and raised one call at a time. A call of a busy account without limits is usually admitted
 * from this instance's {@link Reserves reserve} for the account, without the database at all.
 */
@ApplicationScoped
public class LedgerStore {

    private static final String HOLD = "SELECT * FROM tg_hold(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String HOLD_BATCH = "SELECT * FROM tg_hold_batch(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    private static final String SETTLE_BATCH =
            "SELECT tg_settle_batch(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            + " p_upstream_costs => ?, p_plans => ?, p_recheck => ?)";
    private static final String REAP = "SELECT tg_reap(?)";
    /**
     * The smallest transaction that writes WAL of its own (a transactional logical message; works at
     * any wal_level, any role), so that its synchronous commit flushes. A transaction that only takes
     * an id writes no WAL before its commit record and skips the flush.
     */
    private static final String FLUSH_WAL = "SELECT pg_logical_emit_message(true, 'tollgate', 'flush')";
    private static final int MAX_BATCH = 256;
    /**
     * How long a call refused for balance first waits for its account's settlements still queued on
     * this instance: a previous call's settlement returns the unspent part of its hold.
     */
    private static final Duration SETTLED_BALANCE_WAIT = Duration.ofSeconds(2);

    private final AgroalDataSource dataSource;
    private final GroupCommit<HoldRequest, HoldOutcome> holds;
    private final GroupCommit<Settlement, Boolean> settlements;
    private final Reserves reserves;
    private final HoldHeartbeat heartbeat;
    /** Each account's newest settlement queued on this instance and not yet written (settlements are written in order). */
    private final Map<UUID, CompletableFuture<Boolean>> lastSettlement = new ConcurrentHashMap<>();
    /** Test seam: runs between a settlement batch's commit and its flush (fault injection). */
    static volatile Consumer<Connection> beforeFlush = c -> { };
    private final boolean settlesBeforeResponse;
    private final Duration holdTtl;
    private final Duration reserveValidity;

    public LedgerStore(AgroalDataSource dataSource, TollgateConfig config, HoldHeartbeat heartbeat) {
        this.dataSource = dataSource;
        this.heartbeat = heartbeat;
        this.settlesBeforeResponse = config.settlement().beforeResponse() || LambdaBufferedResponses.LAMBDA_BUILD;
        this.holds = new GroupCommit<>("holds", MAX_BATCH, Duration.ZERO, false, (items, recheck) -> writeHolds(items));
        // Settlements are never given up on: a call served is a call billed (see GroupCommit).
        this.settlements = new GroupCommit<>("settlements", MAX_BATCH,
                settlesBeforeResponse ? Duration.ZERO : config.settlement().linger(), true, this::writeSettlements);
        this.holdTtl = config.holds().ttl();
        this.reserveValidity = config.keys().cacheTtl();
        this.reserves = new Reserves(new Reserves.Store() {
            @Override
            public Long reserve(UUID reserveId, UUID accountId, long want) {
                return callReserve(reserveId, accountId, want);
            }

            @Override
            public void giveBack(UUID reserveId) {
                returnReserve(reserveId);
            }
        }, LambdaBufferedResponses.LAMBDA_BUILD ? 0 : config.holds().reserveCalls(), reserveValidity);
    }

    /**
     * In-flight calls have ended by the time beans are destroyed; this writes anything still queued
     * and returns the reserves.
     */
    @PreDestroy
    void stop() {
        holds.stop(5_000);
        settlements.stop(10_000);
        reserves.returnIdle(Duration.ZERO);
    }

    /**
     * Whether a response waits for its call's settlement to be durable (configured so, or the
     * Lambda build, where nothing may run after a response); if not, settlements linger to batch.
     */
    public boolean settlesBeforeResponse() {
        return settlesBeforeResponse;
    }

    /** Returns the reserves of accounts that went quiet, so other instances can use that balance. */
    @Scheduled(every = "1s", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void returnIdleReserves() {
        reserves.returnIdle(reserveValidity);
    }

    /** What a hold needs to know of its call, so the reaper can record it if nobody settles it. */
    public record CallInfo(String requestId, UUID keyId, String model, String endpoint, boolean stream) {
    }

    /** A placed hold and, when the call has a key with limits, that key's rate counters after admitting it. */
    public record Admission(Hold hold, RateWindow keyWindow) {
    }

    private record HoldRequest(UUID holdId, UUID accountId, long amount, long estimatedTokens, CallInfo call,
                               int ttlSeconds) {
    }

    /** tg_hold_batch's answer for one item: held, limited (admit it with tg_hold) or short. */
    /** {@code crowded}: an earlier item of the same account was in the batch (see holdOnce). */
    private record HoldOutcome(String outcome, long available, boolean fitMaxTokens, int fitMinTokens, boolean crowded) {
    }

    /** {@code draw}: what a call admitted from a reserve takes out of it; null for a hold of its own. */
    private record Settlement(Hold hold, CallRecord record, long usedTokens, Long draw) {
    }

    /**
     * A hold of {@code amount} on this instance's reserve for the account, taken without blocking
     * (safe on an event loop); null when none is ready and the call must go through {@link #hold}.
     */
    public Hold holdInMemory(UUID accountId, long amount) {
        return reserves.enabled() ? reserves.admitInMemory(accountId, amount) : null;
    }

    /** Whether calls may be admitted from reserves held by this instance (never in the Lambda build). */
    public boolean reservesEnabled() {
        return reserves.enabled();
    }

    /**
     * Admits a call: the key's and the account's limits, then a hold of {@code amount} if the
     * available balance covers it; all or nothing. Blocks until the hold's batch is written, unless
     * the call is admitted from this instance's reserve for the account (only when {@code unlimited}:
     * neither the key nor the account has a limit).
     *
     * @param estimatedTokens what the call counts against token-per-minute limits until it settles
     * @throws InsufficientBalanceException when the balance cannot cover the hold
     * @throws LimitExceededException       when a rate, concurrency or spend limit refuses it
     */
    public Admission hold(UUID accountId, long amount, long estimatedTokens, CallInfo call, Duration ttl,
                          boolean unlimited) {
        try {
            return holdOnce(accountId, amount, estimatedTokens, call, ttl, unlimited);
        } catch (InsufficientBalanceException shortNow) {
            // A refusal must be true: the account's previous calls may still hold their worst case
            // until their settlements, queued here, are written. Wait for those, then decide again.
            if (!awaitQueuedSettlements(accountId)) {
                throw shortNow;
            }
            return holdOnce(accountId, amount, estimatedTokens, call, ttl, unlimited);
        }
    }

    private Admission holdOnce(UUID accountId, long amount, long estimatedTokens, CallInfo call, Duration ttl,
                               boolean unlimited) {
        if (unlimited && reserves.enabled()) {
            Hold fromReserve = reserves.admit(accountId, amount);
            if (fromReserve != null) {
                return new Admission(fromReserve, null);
            }
        }
        HoldRequest request = new HoldRequest(HoldIds.next(), accountId, amount, estimatedTokens, call,
                (int) ttl.toSeconds());
        HoldOutcome outcome = await(holds.submit(request), "hold of " + call.requestId());
        if (outcome.outcome().equals("short") && outcome.crowded()) {
            // tg_hold_batch refuses an account's items from the first one that does not fit (a
            // context-window bound, say), so this call may fit on its own: it asks once more.
            request = new HoldRequest(HoldIds.next(), accountId, amount, estimatedTokens, call, (int) ttl.toSeconds());
            outcome = await(holds.submit(request), "hold of " + call.requestId());
        }
        Admission admission = switch (outcome.outcome()) {
            case "held" -> new Admission(new Hold(request.holdId(), accountId, amount), null);
            case "short" -> throw new InsufficientBalanceException(amount, outcome.available(), outcome.fitMaxTokens(),
                    outcome.fitMinTokens());
            default -> holdWithLimits(request);
        };
        heartbeat.started(request.holdId());
        return admission;
    }

    /** Waits (bounded) for the account's settlements queued on this instance; false when there were none. */
    private boolean awaitQueuedSettlements(UUID accountId) {
        CompletableFuture<Boolean> last = lastSettlement.get(accountId);
        if (last == null) {
            return false;
        }
        try {
            last.get(SETTLED_BALANCE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Decide on the database's numbers as they are now.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    private List<HoldOutcome> writeHolds(List<HoldRequest> items) throws SQLException {
        String[] types = {"uuid", "uuid", "uuid", "text", "text", "text", "boolean", "bigint", "bigint", "int"};
        HoldOutcome[] outcomes = new HoldOutcome[items.size()];
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(HOLD_BATCH)) {
            bindColumns(c, ps, types, items, h -> new Object[] {h.holdId(), h.accountId(), h.call().keyId(),
                    h.call().requestId(), h.call().model(), h.call().endpoint(), h.call().stream(), h.amount(),
                    h.estimatedTokens(), h.ttlSeconds()});
            java.util.Set<UUID> seen = new java.util.HashSet<>();
            boolean[] crowded = new boolean[items.size()];
            for (int i = 0; i < items.size(); i++) {
                crowded[i] = !seen.add(items.get(i).accountId());
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int i = rs.getInt(1) - 1;
                    outcomes[i] = new HoldOutcome(rs.getString(2), rs.getLong(3), rs.getBoolean(4), rs.getInt(5),
                            crowded[i]);
                }
            }
        }
        return Arrays.asList(outcomes);
    }

    private Admission holdWithLimits(HoldRequest request) {
        CallInfo call = request.call();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(HOLD)) {
            ps.setObject(1, request.holdId());
            ps.setObject(2, request.accountId());
            ps.setObject(3, call.keyId());
            ps.setString(4, call.requestId());
            ps.setString(5, call.model());
            ps.setString(6, call.endpoint());
            ps.setBoolean(7, call.stream());
            ps.setLong(8, request.amount());
            ps.setLong(9, request.estimatedTokens());
            ps.setInt(10, request.ttlSeconds());
            RateWindow window = null;
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    window = new RateWindow(rs.getTimestamp("window_start").toInstant(), rs.getLong("window_requests"),
                            rs.getLong("window_tokens"), rs.getLong("prev_requests"), rs.getLong("prev_tokens"));
                }
            }
            return new Admission(new Hold(request.holdId(), request.accountId(), request.amount()), window);
        } catch (SQLException e) {
            throw translate(e, request.amount());
        }
    }

    private static RuntimeException translate(SQLException e, long amount) {
        String message = e instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : e.getMessage();
        return switch (String.valueOf(e.getSQLState())) {
            case "TG402" -> {
                String[] parts = message.split("\\|");
                yield new InsufficientBalanceException(amount, Long.parseLong(parts[0]), Boolean.parseBoolean(parts[1]),
                        Integer.parseInt(parts[2]));
            }
            case "TG429", "TG430" -> LimitExceededException.fromDatabase(message);
            default -> new LedgerException("hold failed", e);
        };
    }

    /**
     * Settles a hold: charges {@code record.costNanos()}, releases the rest, releases the limit
     * counters (replacing the hold's token estimate by {@code usedTokens}), writes the usage record.
     * Completes when the settlement's batch is durably committed.
     */
    public CompletableFuture<Void> settle(Hold hold, CallRecord record, long usedTokens) {
        Long draw = null;
        if (hold.reserve()) {
            // Never more than the call's own worst case: the reserve only ever covered that much.
            draw = Math.min(record.costNanos(), hold.amountNanos());
            reserves.settling(hold, draw);
        }
        CompletableFuture<Boolean> written = settlements.submit(new Settlement(hold, record, usedTokens, draw));
        UUID accountId = hold.accountId();
        lastSettlement.put(accountId, written);
        written.whenComplete((onTime, failure) -> {
            lastSettlement.remove(accountId, written);
            if (hold.reserve()) {
                reserves.settled(hold);
            } else {
                heartbeat.ended(hold.id());
            }
        });
        return written.thenAccept(onTime -> {
            if (!onTime) {
                Log.warnf("Hold %s of %s had expired; settled %s USD without it", hold.id(), record.requestId(),
                        Money.format(record.costNanos()));
            }
        });
    }

    private List<Boolean> writeSettlements(List<Settlement> items, boolean recheck) throws SQLException {
        String[] types = {"uuid", "uuid", "bigint", "bigint", "bigint", "text", "uuid", "text", "bigint", "bigint", "bigint",
                "bigint", "bigint", "bigint", "text", "int", "boolean", "text", "int", "text", "text", "text", "uuid", "text",
                "int", "bigint", "uuid"};
        Boolean[] onTime = new Boolean[items.size()];
        Arrays.fill(onTime, Boolean.TRUE);
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement(SETTLE_BATCH)) {
                bindColumns(c, ps, types, items, s -> {
                    CallRecord r = s.record();
                    TokenUsage u = r.usage();
                    return new Object[] {s.hold().id(), s.hold().accountId(), r.costNanos(), s.draw(), s.usedTokens(),
                            r.requestId(), r.keyId(), r.model(), u.input(), u.output(), u.cacheWrite5m(),
                            u.cacheWrite1h(), u.cacheRead(), u.webSearchRequests(), r.status().dbValue(),
                            r.httpStatus(), r.stream(), r.endpoint(), (int) Math.min(Integer.MAX_VALUE, r.latencyMs()),
                            r.upstreamRequestId(), r.referer(), r.title(), r.upstreamId(), r.upstreamName(),
                            r.attempts(), r.upstreamCostNanos(), r.planId()};
                });
                ps.setBoolean(types.length + 1, recheck);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    for (Integer late : (Integer[]) rs.getArray(1).getArray()) {
                        onTime[late - 1] = Boolean.FALSE;
                    }
                }
            }
            beforeFlush.accept(c);
            flushWal(c);
        }
        return Arrays.asList(onTime);
    }

    /**
     * Makes everything committed so far durable: a synchronous commit flushes the WAL up to its own
     * commit record, so also the settlement batch committed asynchronously just before it. The
     * batch thus released its account locks before the flush instead of holding them through it;
     * one hot account's holds and settlements no longer queue behind each other's fsync.
     */
    static void flushWal(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(FLUSH_WAL); ResultSet rs = ps.executeQuery()) {
            rs.next();
        }
    }

    /** Settlements waiting for the settlements writer. */
    public int queuedSettlements() {
        return settlements.queued();
    }

    /** Settlements not yet written, the batch being written or retried included (the backlog an outage builds). */
    public int settlementBacklog() {
        return settlements.backlog();
    }

    /** How long the oldest settlement not yet written has waited. */
    public Duration oldestUnwrittenSettlement() {
        return settlements.oldestWaiting();
    }

    private Long callReserve(UUID reserveId, UUID accountId, long want) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT tg_reserve(?, ?, ?, ?)")) {
            ps.setObject(1, reserveId);
            ps.setObject(2, accountId);
            ps.setLong(3, want);
            ps.setInt(4, (int) holdTtl.toSeconds());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                long added = rs.getLong(1);
                return rs.wasNull() ? null : added;
            }
        } catch (SQLException e) {
            throw new LedgerException("reserving for account " + accountId + " failed", e);
        }
    }

    private void returnReserve(UUID reserveId) {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT tg_return_reserve(?)")) {
            ps.setObject(1, reserveId);
            ps.executeQuery().close();
        } catch (SQLException e) {
            throw new LedgerException("returning reserve " + reserveId + " failed", e);
        }
    }

    /**
     * Binds a batch as one array parameter per column (the batch functions take arrays): each
     * item's row, from {@code row}, in the order of {@code types}.
     */
    private static <T> void bindColumns(Connection c, PreparedStatement ps, String[] types, List<T> items,
                                        Function<T, Object[]> row) throws SQLException {
        Object[][] columns = new Object[types.length][items.size()];
        for (int i = 0; i < items.size(); i++) {
            Object[] values = row.apply(items.get(i));
            for (int column = 0; column < types.length; column++) {
                columns[column][i] = values[column];
            }
        }
        for (int column = 0; column < types.length; column++) {
            ps.setArray(column + 1, c.createArrayOf(types[column], columns[column]));
        }
    }

    private static <T> T await(CompletableFuture<T> future, String what) {
        try {
            return future.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new LedgerException(what + " failed", e.getCause());
        }
    }

    private static void setNullableString(PreparedStatement ps, int i, String value) throws SQLException {
        if (value == null) {
            ps.setNull(i, Types.VARCHAR);
        } else {
            ps.setString(i, value);
        }
    }

    /** Releases up to {@code limit} expired holds; returns how many. */
    public int reapExpired(int limit) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(REAP)) {
            ps.setInt(1, limit);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        } catch (SQLException e) {
            throw new LedgerException("reaping expired holds failed", e);
        }
    }

    /** {count, total amount} of the holds not yet settled or released, for the open-holds gauge. */
    public long[] openHolds() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*), coalesce(sum(amount), 0) FROM holds WHERE state = 'pending'");
             ResultSet rs = ps.executeQuery()) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        } catch (SQLException e) {
            throw new LedgerException("reading open holds failed", e);
        }
    }

    /** A credit's ledger entry, the account's totals after it, and how many reserves a debit revoked. */
    public record Credit(long entryId, long balance, long held, int reservesRevoked) {
    }

    /**
     * Credits (or, for a negative amount, debits) an account inside the caller's transaction;
     * null if no such account. A debit that leaves the balance short of what is held revokes the
     * account's reserves (tg_credit): this instance stops admitting calls from its own at once, the
     * others at their next renewal.
     */
    public Credit credit(Connection c, UUID accountId, long amount, String kind, String note) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM tg_credit(?, ?, ?, ?)")) {
            ps.setObject(1, accountId);
            ps.setLong(2, amount);
            ps.setString(3, kind);
            setNullableString(ps, 4, note);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                Credit credit = new Credit(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getInt(4));
                if (credit.reservesRevoked() > 0) {
                    reserves.revoke(accountId);
                }
                return credit;
            }
        }
    }

    /** {balance, held} of an account, or null when it does not exist. */
    public long[] totals(UUID accountId) {
        try (Connection c = dataSource.getConnection()) {
            return totals(c, accountId);
        } catch (SQLException e) {
            throw new LedgerException("reading account failed", e);
        }
    }

    private static long[] totals(Connection c, UUID accountId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT balance, held FROM accounts WHERE id = ?")) {
            ps.setObject(1, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new long[] {rs.getLong(1), rs.getLong(2)} : null;
            }
        }
    }

    /**
     * The invariants, recomputed from the append-only tables: running totals equal the sums of
     * the entries, settled charges equal the usage records' costs, held equals the pending holds.
     * The entries are summed from each account's checkpoint ({@code tg_checkpoint_ledger}) and the
     * records from the roll-ups their triggers keep, so a mismatch in either still shows.
     */
    public Reconciliation reconcile(UUID accountId) {
        // Bounded whatever the account's size: the ledger from its checkpoint plus the entries
        // after it, the usage records from the roll-ups (each account's days, and the hours not
        // rolled yet), all in one statement, so one snapshot.
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT a.balance, a.held,
                       coalesce(cp.balance, 0) + (SELECT coalesce(sum(balance_delta), 0) FROM ledger_entries
                                                  WHERE account_id = a.id AND id > s.up_to_id),
                       coalesce(cp.held, 0) + (SELECT coalesce(sum(held_delta), 0) FROM ledger_entries
                                               WHERE account_id = a.id AND id > s.up_to_id),
                       coalesce(cp.settled, 0) + (SELECT coalesce(-sum(balance_delta), 0) FROM ledger_entries
                                                  WHERE account_id = a.id AND id > s.up_to_id AND kind = 'settlement'),
                       (SELECT coalesce(sum(cost), 0) FROM %s),
                       (SELECT coalesce(sum(amount), 0) FROM holds WHERE account_id = a.id AND state = 'pending')
                FROM accounts a CROSS JOIN ledger_checkpoint_state s
                LEFT JOIN ledger_checkpoints cp ON cp.account_id = a.id
                WHERE a.id = ?
                """.formatted(UsageSources.of(UsageSources.Grain.DAYS, Instant.EPOCH, Instant.parse("9999-01-01T00:00:00Z"),
                accountId)))) {
            ps.setObject(1, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Reconciliation(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
                        rs.getLong(6), rs.getLong(7));
            }
        } catch (SQLException e) {
            throw new LedgerException("reconciliation failed", e);
        }
    }

    /** Totals of one account, each computed two ways. */
    public record Reconciliation(long balance, long held, long entriesBalance, long entriesHeld, long settledCharges,
                                 long usageCosts, long pendingHolds) {
        public boolean consistent() {
            return balance == entriesBalance && held == entriesHeld && settledCharges == usageCosts
                    && held == pendingHolds;
        }
    }
}
