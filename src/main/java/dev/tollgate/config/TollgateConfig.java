package dev.tollgate.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

import java.time.Duration;
import java.util.Optional;

/**
 * Every Tollgate setting. Each maps to an environment variable by Quarkus's rules:
 * {@code tollgate.upstream.base-url} is {@code TOLLGATE_UPSTREAM_BASE_URL}.
 */
@ConfigMapping(prefix = "tollgate")
public interface TollgateConfig {

    Upstream upstream();

    /** Bearer token of the admin API. Unset: the admin API refuses every call. */
    Optional<String> adminToken();

    /** Server-side secret of the key hash (HMAC-SHA-256). Required outside dev and test. */
    Optional<String> keyPepper();

    /**
     * Base64 of 32 random bytes: the AES-256-GCM key of the upstream credentials stored in the
     * database. Required (outside dev and test) as soon as any upstream is stored.
     */
    Optional<String> secretsKey();

    Keys keys();

    Holds holds();

    Settlement settlement();

    Prices prices();

    Plans plans();

    /**
     * Markup of the default plan (accounts without a plan), in percent of the list price: a
     * decimal above -100; negative is a discount.
     */
    @WithDefault("0")
    String defaultMarkupPercent();

    /** The operator console and the customer portal (docs/console.md). */
    Web web();

    interface Web {
        /** How long a sign-in to the console or the portal lasts. */
        @WithDefault("8h")
        Duration sessionTtl();

        /** The console dashboard's sums over every account are re-read at most this often, per instance. */
        @WithDefault("30s")
        Duration dashboardMaxAge();
    }

    /**
     * Proxies (CIDR ranges) whose X-Forwarded-For is believed when checking a key's allowed IP
     * ranges. Unset: the connection's peer address is the client.
     */
    Optional<java.util.List<String>> trustedProxies();

    /** How long a rotated key's previous secret keeps working. */
    @WithDefault("24h")
    Duration keyRotationGrace();

    /** Largest request body accepted on the public API; larger gets 413 request_too_large. */
    @WithDefault("33554432")
    long maxRequestBytes();

    interface Upstream {
        @WithDefault("https://api.anthropic.com")
        String baseUrl();

        /** The operator's Anthropic API key. Never sent to clients, never logged. */
        Optional<String> apiKey();

        /** Sent when the client sends no anthropic-version header. */
        @WithDefault("2023-06-01")
        String defaultVersion();

        @WithDefault("10s")
        Duration connectTimeout();

        /** Non-streaming calls: the whole upstream response must arrive within this. */
        @WithDefault("10m")
        Duration responseTimeout();

        /** Streaming calls: longest silence between two upstream chunks. */
        @WithDefault("5m")
        Duration streamIdleTimeout();

        @WithDefault("1000")
        int maxConnections();

        /**
         * Idle upstream connections are closed after this. Shorter than the upstream's own idle
         * close, so a request is never sent on a connection the server is just closing.
         */
        @WithDefault("20s")
        Duration keepAliveTimeout();

        /**
         * Longest wait for the upstream's count_tokens when sizing a hold exactly; past it the
         * cheap bound stands (the call is then refused only if that does not fit either), or, for
         * a document by file_id, the context window.
         */
        @WithDefault("5s")
        Duration countTokensTimeout();

        /** Upstreams one call may try (failover before the first byte), within responseTimeout. */
        @WithDefault("3")
        int maxAttempts();

        /**
         * How long an upstream that answered 429/529/503 without retry-after sits out, doubled on each
         * repeat up to maxCooldown; also how long a refused connection keeps its circuit open before a probe.
         */
        @WithDefault("2s")
        Duration cooldown();

        @WithDefault("2m")
        Duration maxCooldown();

        /** How long an upstream whose credential was refused (401/403, or out of credit) sits out. */
        @WithDefault("10m")
        Duration credentialCooldown();
    }

    interface Keys {
        /** How long an authenticated key is trusted from memory; bounds how late a revocation reaches other instances. */
        @WithDefault("5s")
        Duration cacheTtl();

        @WithDefault("100000")
        int cacheMaxEntries();

        /**
         * How many presented keys that matched nothing are remembered (each for cache-ttl), so the
         * same wrong key costs one database lookup per TTL. Apart from the known keys, so a flood
         * of random keys never pushes a real key out of memory.
         */
        @WithDefault("10000")
        int unknownMaxEntries();

        /**
         * Failed authentications one client address may have per failed-auth-window on this
         * instance; past them it gets 429 with retry-after instead of further key lookups (keys
         * this instance already knows still work). The address honours trusted-proxies.
         */
        @WithDefault("30")
        int failedAuthLimit();

        @WithDefault("1m")
        Duration failedAuthWindow();
    }

    interface Holds {
        /** A hold not settled by then is released by the reaper (its instance is presumed dead). */
        @WithDefault("15m")
        Duration ttl();

        /** Upper bound of input tokens charged for one image or document block whose bytes are fewer. */
        @WithDefault("3300")
        long imageTokenAllowance();

        /** Tool-use system prompt overhead (digest §1.4 lists at most 530) plus per-tool extras such as bash. */
        @WithDefault("1000")
        long toolOverheadTokens();

        /** Safety margin added to the upstream's count_tokens estimate, in percent. */
        @WithDefault("2")
        int countTokensMarginPercent();

        @WithDefault("5m")
        Duration reaperInterval();

        /**
         * How often an instance renews the holds of its calls in progress (each renewal sets their
         * expiry to now + ttl), so that only the holds of a dead instance expire. Well under ttl.
         */
        @WithDefault("1m")
        Duration renewInterval();

        /** A call open longer than this (a bug, or a stuck connection) stops renewing its hold. */
        @WithDefault("6h")
        Duration maxCallDuration();

        /**
         * Size of an instance's reserve for a busy account without limits, in worst-case calls: the
         * instance holds that much of the balance at once and admits the account's calls from it
         * without a database round trip. A reserve used up within a second of its last top-up
         * doubles, up to 64 times this, so a busy account's reserve lasts a second or more; a top-up
         * is granted only while the account has eight times it available. 0 turns reserves off
         * (every call is held in the database); the Lambda build never uses them.
         */
        @WithDefault("64")
        int reserveCalls();
    }

    interface Settlement {
        /**
         * Whether a response ends only after its call's settlement is durably committed. Off: the
         * response goes out at once and the settlement follows within milliseconds (group-committed);
         * the hold covers the call meanwhile, and graceful shutdown writes every queued settlement.
         * Always on in the Lambda build, where nothing may run after the response.
         */
        @WithDefault("false")
        boolean beforeResponse();

        /**
         * Back-pressure: while this many settlements wait to be written, a call's response waits for
         * its own, so clients slow to what the database can record instead of a backlog growing in
         * memory.
         */
        @WithDefault("512")
        int maxQueued();

        /**
         * When responses do not wait for settlements: how long the settlement writer gathers calls
         * before writing a batch, unless a full batch is already queued. Fewer, larger batches cost
         * the database far less per call at low and moderate load; a settlement lands this much
         * later (its hold covers the call meanwhile). 0: write whatever is queued at once.
         */
        @WithDefault("10ms")
        Duration linger();
    }

    interface Prices {
        /** JSON file (same shape as the built-in prices.json) whose models override or extend the built-in table. */
        Optional<String> file();
    }

    interface Plans {
        /**
         * How often every instance re-reads the plans and the stored prices: a change made on
         * another instance is in effect here within this long (on the instance that made it, at once).
         */
        @WithDefault("5s")
        Duration refreshInterval();
    }
}
