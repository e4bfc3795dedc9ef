package dev.tollgate.webhooks;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Standard Webhooks signing (standardwebhooks.com): secrets are {@code whsec_<base64>} (24 to 64
 * bytes), and {@code webhook-signature} is {@code v1,<base64 HMAC-SHA256(secret bytes,
 * "<webhook-id>.<webhook-timestamp>.<body>")>}. Every Standard Webhooks library verifies it.
 */
final class WebhookSignature {

    static final String SECRET_PREFIX = "whsec_";
    private static final int GENERATED_BYTES = 32;
    private static final int MIN_BYTES = 24;
    private static final int MAX_BYTES = 64;
    private static final SecureRandom RANDOM = new SecureRandom();

    private WebhookSignature() {
    }

    static String newSecret() {
        byte[] key = new byte[GENERATED_BYTES];
        RANDOM.nextBytes(key);
        return SECRET_PREFIX + Base64.getEncoder().encodeToString(key);
    }

    /** Why the secret is unusable, or null when it is a valid {@code whsec_} secret. */
    static String problem(String secret) {
        if (!secret.startsWith(SECRET_PREFIX)) {
            return "must start with " + SECRET_PREFIX;
        }
        try {
            int length = key(secret).length;
            return length < MIN_BYTES || length > MAX_BYTES
                    ? "must encode " + MIN_BYTES + " to " + MAX_BYTES + " bytes (it encodes " + length + ")" : null;
        } catch (IllegalArgumentException e) {
            return "the part after " + SECRET_PREFIX + " must be standard base64";
        }
    }

    static String sign(String secret, String id, long timestampSeconds, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key(secret), "HmacSHA256"));
            byte[] digest = mac.doFinal((id + "." + timestampSeconds + "." + body).getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private static byte[] key(String secret) {
        return Base64.getDecoder().decode(secret.substring(SECRET_PREFIX.length()));
    }
}
