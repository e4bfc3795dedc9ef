package dev.tollgate.keys;

import dev.tollgate.api.ApiException;
import dev.tollgate.api.RequestIds;
import dev.tollgate.config.TollgateConfig;
import dev.tollgate.limits.CidrSet;
import io.agroal.api.AgroalDataSource;
import jakarta.enterprise.context.ApplicationScoped;

import java.nio.ByteBuffer;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Authenticates issued keys. A known key costs no database round trip: it is kept in memory for
 * tollgate.keys.cache-ttl, so a revocation takes effect at once on the instance that made it and
 * within that TTL on every other instance. A key that matched nothing is remembered apart
 * ({@link UnknownKeys}) for the same TTL, and a client address with too many failures gets 429
 * instead of further lookups ({@link FailedAuthentications}). A rotated key's previous secret
 * works until its grace period ends, checked on every use, cached or not.
 */
@ApplicationScoped
public class ApiKeyService {

    /** Where a client may send its key, as a 401 names it ("invalid " + this). */
    public static final String X_API_KEY = "x-api-key";
    public static final String AUTHORIZATION_BEARER = "API key in Authorization: Bearer";

    public static final String KEY_PREFIX = "sk-tg-";
    static final int SECRET_LENGTH = 40;
    private static final int DISPLAY_LENGTH = KEY_PREFIX.length() + 6;

    private final KeyHasher hasher;
    private final AgroalDataSource dataSource;
    private final long ttlNanos;
    private final int maxEntries;
    private final Map<ByteBuffer, Cached> cache = new ConcurrentHashMap<>();
    private final UnknownKeys unknown;
    private final FailedAuthentications failures;
    private final LongAdder lookups = new LongAdder();

    /**
     * A key as read from the database at {@code loadedAt}; {@code retiresAt}: when the secret it
     * was found by is a rotated key's previous one, the end of its grace period (else null);
     * {@code refreshing}: a reload is running.
     */
    private record Cached(AuthenticatedKey key, Instant retiresAt, long loadedAt, AtomicBoolean refreshing) {
        Cached(Found found, long loadedAt) {
            this(found.key(), found.retiresAt(), loadedAt, new AtomicBoolean());
        }
    }

    /** A database match: the key, and the end of the grace period if matched by its previous secret. */
    private record Found(AuthenticatedKey key, Instant retiresAt) {
    }

    public ApiKeyService(KeyHasher hasher, AgroalDataSource dataSource, TollgateConfig config) {
        this.hasher = hasher;
        this.dataSource = dataSource;
        this.ttlNanos = config.keys().cacheTtl().toNanos();
        this.maxEntries = config.keys().cacheMaxEntries();
        this.unknown = new UnknownKeys(ttlNanos, config.keys().unknownMaxEntries());
        this.failures = new FailedAuthentications(config.keys().failedAuthLimit(),
                config.keys().failedAuthWindow().toNanos());
    }

    /** A new secret: "sk-tg-" and 40 base62 characters from SecureRandom (about 238 bits). */
    public static String newSecret() {
        return KEY_PREFIX + RequestIds.randomBase62(SECRET_LENGTH);
    }

    public static String displayPrefix(String secret) {
        return secret.substring(0, DISPLAY_LENGTH);
    }

    /**
     * The hash to store for a secret just issued (created or rotated to). It is forgotten as an
     * unknown key here, so the new secret works on this instance at once.
     */
    public byte[] hashNewSecret(String secret) {
        byte[] hash = hasher.hash(secret);
        unknown.forget(ByteBuffer.wrap(hash));
        return hash;
    }

    /**
     * @param presented     the key from x-api-key or Authorization: Bearer, or null
     * @param header        where the key came from ({@link #X_API_KEY}, {@link #AUTHORIZATION_BEARER}),
     *                      named in the error so that the client knows which to fix
     * @param clientAddress the client's address, asked for only when the key is not known here
     * @throws ApiException 401 authentication_error when missing, unknown, revoked or expired;
     *                      429 rate_limit_error when the address has failed too often
     */
    public AuthenticatedKey authenticate(String presented, String header, Supplier<String> clientAddress) {
        return authenticate(presented, header, clientAddress, false);
    }

    /** As {@link #authenticate(String, String, Supplier)} for a key sent as x-api-key. */
    public AuthenticatedKey authenticate(String presented, Supplier<String> clientAddress) {
        return authenticate(presented, X_API_KEY, clientAddress, false);
    }

    /**
     * As {@link #authenticate(String, String, Supplier)} but from memory only, so it never blocks:
     * null when the key is not cached (or its entry is stale) and must be looked up.
     */
    public AuthenticatedKey authenticateCached(String presented, String header, Supplier<String> clientAddress) {
        return authenticate(presented, header, clientAddress, true);
    }

    /** As {@link #authenticateCached(String, String, Supplier)} for a key sent as x-api-key. */
    public AuthenticatedKey authenticateCached(String presented, Supplier<String> clientAddress) {
        return authenticate(presented, X_API_KEY, clientAddress, true);
    }

    /** Database lookups of keys so far (a metric: a surge means clients sending unknown keys). */
    public long databaseLookups() {
        return lookups.sum();
    }

    /** Requests refused with 429 for their address's failed authentications so far (a metric). */
    public long refusedAddresses() {
        return failures.refused();
    }

    private AuthenticatedKey authenticate(String presented, String header, Supplier<String> clientAddress,
                                          boolean cachedOnly) {
        if (presented == null || presented.isBlank()) {
            throw ApiException.authentication("Missing API key: send it as x-api-key or Authorization: Bearer");
        }
        if (!presented.startsWith(KEY_PREFIX) || presented.length() > 200) {
            throw failed(clientAddress, "invalid " + header);
        }
        ByteBuffer hash = ByteBuffer.wrap(hasher.hash(presented));
        long now = System.nanoTime();
        Cached cached = cache.get(hash);
        if (cached == null || now - cached.loadedAt() > ttlNanos) {
            String address = clientAddress.get();
            failures.refuseIfBlocked(address);
            if (unknown.contains(hash, now)) {
                throw failed(address, "invalid " + header);
            }
            if (cachedOnly) {
                return null;
            }
            Found found = load(hash.array());
            if (found == null) {
                unknown.add(hash, now);
                throw failed(address, "invalid " + header);
            }
            cached = new Cached(found, now);
            if (cache.size() >= maxEntries) {
                cache.clear(); // crude but bounded; a cold cache only costs one lookup per key
            }
            cache.put(hash, cached);
        } else if (now - cached.loadedAt() > ttlNanos / 5 * 4 && cached.refreshing().compareAndSet(false, true)) {
            refreshInBackground(hash, cached);
        }
        AuthenticatedKey key = cached.key();
        if (key.expiresAt() != null && !Instant.now().isBefore(key.expiresAt())) {
            throw failed(clientAddress, "This API key expired at " + key.expiresAt());
        }
        if (cached.retiresAt() != null && !Instant.now().isBefore(cached.retiresAt())) {
            // The grace period ended while the entry was cached: the old secret stops now, not at the TTL.
            cache.remove(hash, cached);
            unknown.add(hash, now);
            throw failed(clientAddress, "This API key was rotated; its previous secret stopped working at "
                    + cached.retiresAt());
        }
        return key;
    }

    private ApiException failed(Supplier<String> clientAddress, String message) {
        return failed(clientAddress.get(), message);
    }

    private ApiException failed(String clientAddress, String message) {
        failures.record(clientAddress);
        return ApiException.authentication(message);
    }

    /**
     * A key in use is re-read in its last fifth of the TTL, off the caller's path, so its calls
     * never wait for the reload (nor all of a busy instance's keys expire and reload at once). The
     * TTL's bound on staleness is unchanged: the new entry counts from before its read, and one
     * that was invalidated meanwhile stays forgotten. A key gone meanwhile is simply dropped: the
     * next call looks it up.
     */
    private void refreshInBackground(ByteBuffer hash, Cached stale) {
        Thread.startVirtualThread(() -> {
            long started = System.nanoTime();
            try {
                Found found = load(hash.array());
                if (found == null) {
                    cache.remove(hash, stale);
                } else {
                    cache.replace(hash, stale, new Cached(found, started));
                }
            } catch (RuntimeException e) {
                // The entry expires at its TTL and the next call looks the key up itself.
                stale.refreshing().set(false);
            }
        });
    }

    /** Forgets a key on this instance at once (called after revoking or changing it). */
    public void invalidate(UUID keyId) {
        cache.values().removeIf(c -> c.key().id().equals(keyId));
    }

    /** Forgets an account's keys on this instance at once (their cached copy carries its limits). */
    public void invalidateAccount(UUID accountId) {
        cache.values().removeIf(c -> c.key().accountId().equals(accountId));
    }

    private Found load(byte[] hash) {
        lookups.increment();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT k.id, k.account_id, k.name, k.prefix, k.expires_at, k.allowed_models, k.allowed_cidrs,
                       k.requests_per_minute, k.tokens_per_minute,
                       tg_has_limits(k.requests_per_minute, k.tokens_per_minute, k.max_concurrent, k.daily_spend_limit,
                                     k.monthly_spend_limit, k.lifetime_spend_limit)
                       OR tg_has_limits(a.requests_per_minute, a.tokens_per_minute, a.max_concurrent,
                                        a.daily_spend_limit, a.monthly_spend_limit, a.lifetime_spend_limit),
                       CASE WHEN k.key_hash = ? THEN NULL ELSE k.previous_expires_at END, a.plan_id
                FROM api_keys k JOIN accounts a ON a.id = k.account_id
                WHERE k.revoked_at IS NULL
                  AND (k.key_hash = ? OR (k.previous_key_hash = ? AND k.previous_expires_at > now()))
                """)) {
            ps.setBytes(1, hash);
            ps.setBytes(2, hash);
            ps.setBytes(3, hash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                Timestamp expires = rs.getTimestamp(5);
                Array models = rs.getArray(6);
                Set<String> allowed = models == null ? null
                        : Set.copyOf(new HashSet<>(Arrays.asList((String[]) models.getArray())));
                Array cidrs = rs.getArray(7);
                CidrSet ips = cidrs == null ? null : CidrSet.parse(Arrays.asList((String[]) cidrs.getArray()));
                Timestamp retires = rs.getTimestamp(11);
                return new Found(new AuthenticatedKey(rs.getObject(1, UUID.class), rs.getObject(2, UUID.class),
                        rs.getString(3), rs.getString(4), expires == null ? null : expires.toInstant(), allowed, ips,
                        (Integer) rs.getObject(8), (Long) rs.getObject(9), rs.getBoolean(10),
                        rs.getObject(12, UUID.class)),
                        retires == null ? null : retires.toInstant());
            }
        } catch (SQLException e) {
            throw new ApiException(503, "api_error", "Authentication is temporarily unavailable");
        }
    }
}
