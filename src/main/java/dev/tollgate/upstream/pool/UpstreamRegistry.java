package dev.tollgate.upstream.pool;

import dev.tollgate.config.TollgateConfig;
import dev.tollgate.upstream.UpstreamTarget;
import io.quarkus.logging.Log;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;
import jakarta.inject.Singleton;

import java.math.BigDecimal;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The upstreams this instance routes to: the configured {@code default} (TOLLGATE_UPSTREAM_API_KEY /
 * _BASE_URL, when set) and those stored in the database, their credentials decrypted. A list older
 * than {@code tollgate.keys.cache-ttl} is reloaded in the background on its next use (the
 * propagation rule of keys: a change made on any instance reaches the others within that, timers or
 * not, so on Lambda too), and at once on the instance that made the change.
 */
@Singleton
@Startup
public class UpstreamRegistry {

    private final UpstreamStore store;
    private final Upstream configured;
    private final CredentialCipher cipher;
    private final long maxAgeNanos;
    private final AtomicBoolean reloading = new AtomicBoolean();
    private volatile List<Upstream> upstreams;
    private volatile long loadedAt;

    public UpstreamRegistry(UpstreamStore store, TollgateConfig config) {
        this.store = store;
        this.maxAgeNanos = config.keys().cacheTtl().toNanos();
        this.cipher = config.secretsKey().filter(k -> !k.isBlank()).map(CredentialCipher::new).orElse(null);
        this.configured = config.upstream().apiKey().filter(k -> !k.isBlank())
                .map(key -> new Upstream(Upstream.DEFAULT_ID, Upstream.DEFAULT_NAME, Upstream.ANTHROPIC,
                        config.upstream().baseUrl(), UpstreamTarget.of(config.upstream().baseUrl(), key),
                        Upstream.hint(key), 1, 0, null, null, true, null, true))
                .orElse(null);
        List<UpstreamStore.Row> rows = store.live();
        if (!rows.isEmpty() && cipher == null && !LaunchMode.current().isDevOrTest()) {
            throw new IllegalStateException("Upstreams are stored in the database but TOLLGATE_SECRETS_KEY is not set:"
                    + " their credentials cannot be read. Set it to the key they were stored with.");
        }
        this.upstreams = build(rows);
        this.loadedAt = System.nanoTime();
        if (upstreams.isEmpty()) {
            Log.warn("No upstream: TOLLGATE_UPSTREAM_API_KEY is not set and none is stored; every call to Claude"
                    + " fails with 502 until one is added");
        }
    }

    /** Every upstream, enabled or not, the configured one first. Never blocks (safe on an event loop). */
    public List<Upstream> all() {
        if (System.nanoTime() - loadedAt > maxAgeNanos && reloading.compareAndSet(false, true)) {
            Thread.startVirtualThread(() -> {
                try {
                    reload();
                } catch (RuntimeException e) {
                    Log.warnf("Reloading the upstreams failed; routing keeps the list it has: %s", e.toString());
                } finally {
                    reloading.set(false);
                }
            });
        }
        return upstreams;
    }

    public Optional<Upstream> find(UUID id) {
        return all().stream().filter(u -> u.id().equals(id)).findFirst();
    }

    /** Reads the stored upstreams now (blocking). */
    void reload() {
        upstreams = build(store.live());
        loadedAt = System.nanoTime();
    }

    /** Seals a credential for {@link UpstreamStore}; null when no TOLLGATE_SECRETS_KEY is set. */
    byte[] seal(String secret, UUID id) {
        return cipher == null ? null : cipher.encrypt(secret, id.toString());
    }

    private List<Upstream> build(List<UpstreamStore.Row> rows) {
        List<Upstream> all = new ArrayList<>(rows.size() + 1);
        if (configured != null) {
            all.add(configured);
        }
        for (UpstreamStore.Row r : rows) {
            com.fasterxml.jackson.databind.node.ObjectNode settings = UpstreamKinds.settings(r.settings());
            UpstreamKinds.Built built = built(r, settings);
            all.add(new Upstream(r.id(), r.name(), r.kind(), r.baseUrl(), built == null ? null : built.target(),
                    r.keyHint(), r.weight(), r.priority(), r.models(), r.maxConcurrent(), r.enabled(), r.createdAt(),
                    false, built == null ? null : built.dialect(), settings,
                    // BigDecimal.ONE itself for 1, so the hot path tells "no multiplier" by identity
                    r.priceMultiplier().compareTo(BigDecimal.ONE) == 0 ? BigDecimal.ONE : r.priceMultiplier()));
        }
        return List.copyOf(all);
    }

    /** Null (never routed to) when the credential cannot be decrypted (another key, or none) or read. */
    private UpstreamKinds.Built built(UpstreamStore.Row r, com.fasterxml.jackson.databind.node.ObjectNode settings) {
        if (cipher == null) {
            Log.errorf("Upstream %s (%s) cannot be used: TOLLGATE_SECRETS_KEY is not set", r.name(), r.id());
            return null;
        }
        String secret;
        try {
            secret = cipher.decrypt(r.credential(), r.id().toString());
        } catch (GeneralSecurityException e) {
            Log.errorf("Upstream %s (%s) cannot be used: its credential does not decrypt with TOLLGATE_SECRETS_KEY",
                    r.name(), r.id());
            return null;
        }
        try {
            return UpstreamKinds.build(r.kind(), r.baseUrl(), secret, settings);
        } catch (IllegalArgumentException e) {
            Log.errorf("Upstream %s (%s) cannot be used: its stored settings or credential are not valid for kind %s",
                    r.name(), r.id(), r.kind());
            return null;
        }
    }
}
