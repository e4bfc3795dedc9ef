package dev.tollgate.keys;

import dev.tollgate.config.TollgateConfig;
import io.quarkus.logging.Log;
import io.quarkus.runtime.LaunchMode;
import jakarta.enterprise.context.ApplicationScoped;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;

/**
 * HMAC-SHA-256 of a key under the server's pepper (TOLLGATE_KEY_PEPPER): a database dump alone
 * cannot be used to test guesses. Changing the pepper invalidates every issued key.
 */
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
        String pepper = config.keyPepper().filter(p -> !p.isBlank()).orElse(null);
        if (pepper == null) {
            if (LaunchMode.current().isDevOrTest()) {
                Log.warn("TOLLGATE_KEY_PEPPER is not set: using the built-in development pepper. Never run production like this.");
                pepper = DEV_PEPPER;
            } else {
                throw new IllegalStateException("TOLLGATE_KEY_PEPPER must be set: it is the secret that key hashes are keyed with");
            }
        } else if (pepper.length() < 16) {
            throw new IllegalStateException("TOLLGATE_KEY_PEPPER must be at least 16 characters");
        }
        this.secret = new SecretKeySpec(pepper.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
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
