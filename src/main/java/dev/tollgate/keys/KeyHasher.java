package dev.tollgate.keys;

import dev.tollgate.config.TollgateConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;
import io.quarkus.runtime.configuration.ConfigurationException;
import jakarta.enterprise.context.ApplicationScoped;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Optional;

/**
 * HMAC-SHA-256 of a key under the server's pepper (TOLLGATE_KEY_PEPPER): a database dump alone
 * cannot be used to test guesses. Changing the pepper invalidates every issued key.
 */
@Startup
@ApplicationScoped
public class KeyHasher {

    private static final String DEV_PEPPER = "tollgate-dev-only-pepper-not-for-production";

    private final SecretKeySpec secret;
    /**
     * One initialised Mac per thread (doFinal resets it for the next key): looking the algorithm
     * up in the security providers for every call cost more than the hash itself.
     */
    private final ThreadLocal<Mac> macs = ThreadLocal.withInitial(this::newMac);

    public KeyHasher(TollgateConfig config) {
        this.secret = new SecretKeySpec(pepper(config.keyPepper(), LaunchMode.current()).getBytes(StandardCharsets.UTF_8),
                "HmacSHA256");
    }

    /**
     * The pepper to key hashes with, checked at startup ({@link Startup}): production without
     * one must not start, report healthy and then fail every key operation.
     *
     * @throws ConfigurationException (one line on the console, no stack trace) when it is missing
     *                                outside dev and test, or shorter than 16 characters
     */
    static String pepper(Optional<String> configured, LaunchMode mode) {
        String pepper = configured.filter(p -> !p.isBlank()).orElse(null);
        if (pepper == null) {
            if (!mode.isDevOrTest()) {
                throw new ConfigurationException("TOLLGATE_KEY_PEPPER must be set (16 characters or more): it is the"
                        + " secret that API key hashes are keyed with. Tollgate does not start without it.");
            }
            Log.warn("TOLLGATE_KEY_PEPPER is not set: using the built-in development pepper. Never run production like this.");
            return DEV_PEPPER;
        }
        if (pepper.length() < 16) {
            throw new ConfigurationException("TOLLGATE_KEY_PEPPER must be at least 16 characters");
        }
        return pepper;
    }

    public byte[] hash(String key) {
        return macs.get().doFinal(key.getBytes(StandardCharsets.UTF_8));
    }

    private Mac newMac() {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(secret);
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
