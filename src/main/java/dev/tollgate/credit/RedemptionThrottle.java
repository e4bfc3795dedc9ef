package dev.tollgate.credit;

import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/**
 * Slows down guessing: after {@value #MAX_FAILURES} refused redemptions in {@value #WINDOW_MINUTES}
 * minutes (counted from the first), a key or a client IP gets 429 with retry-after until the
 * window ends. Counted in PostgreSQL, so every instance sees the same count. The check comes
 * before the attempt and the count after it, so a burst of concurrent attempts can pass the limit
 * by the attempts in flight: with 95 random bits per code that does not make guessing feasible.
 */
@ApplicationScoped
public class RedemptionThrottle {

    static final int MAX_FAILURES = 10;
    static final int WINDOW_MINUTES = 10;
    private static final String WINDOW = "make_interval(mins => " + WINDOW_MINUTES + ")";

    private final AgroalDataSource dataSource;

    public RedemptionThrottle(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** @throws ApiException 429 with retry-after when any of the subjects used up its failures */
    void check(List<String> subjects) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT ceil(extract(epoch FROM max(window_start) + %s - now()))::int FROM redemption_failures
                WHERE subject = ANY (?) AND failures >= ? AND window_start > now() - %s
                """.formatted(WINDOW, WINDOW))) {
            ps.setArray(1, c.createArrayOf("text", subjects.toArray()));
            ps.setInt(2, MAX_FAILURES);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                int retryAfter = rs.getInt(1);
                if (!rs.wasNull()) {
                    throw new ApiException(429, "rate_limit_error", "Too many codes that could not be redeemed: try again in "
                            + Math.max(1, retryAfter) + " seconds").header("retry-after", String.valueOf(Math.max(1, retryAfter)));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("redemption throttle check failed", e);
        }
    }

    void recordFailure(List<String> subjects) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                INSERT INTO redemption_failures AS f (subject, window_start, failures)
                SELECT s, now(), 1 FROM unnest(?::text[]) AS s ORDER BY s
                ON CONFLICT (subject) DO UPDATE SET
                    window_start = CASE WHEN f.window_start <= now() - %1$s THEN now() ELSE f.window_start END,
                    failures = CASE WHEN f.window_start <= now() - %1$s THEN 1 ELSE f.failures + 1 END
                """.formatted(WINDOW))) {
            ps.setArray(1, c.createArrayOf("text", subjects.toArray()));
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("recording a refused redemption failed", e);
        }
    }

    /** Forgets windows that ended, so the table holds only the last few minutes' guessers. */
    @Scheduled(every = "10m", delayed = "1m", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void forgetEndedWindows() {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "DELETE FROM redemption_failures WHERE window_start <= now() - " + WINDOW)) {
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("forgetting redemption failures failed", e);
        }
    }
}
