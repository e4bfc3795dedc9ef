package dev.tollgate.upstream.pool;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * AES-256-GCM for upstream credentials at rest: a fresh 12-byte nonce per value, stored in front
 * of the ciphertext and its tag. The upstream's id is bound in as associated data, so a ciphertext
 * copied onto another row does not decrypt.
 */
final class CredentialCipher {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final SecretKeySpec key;

    /** @throws IllegalArgumentException unless {@code base64Key} is the base64 of 32 bytes */
    CredentialCipher(String base64Key) {
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(base64Key.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("TOLLGATE_SECRETS_KEY must be base64 (of 32 random bytes)");
        }
        if (raw.length != 32) {
            throw new IllegalArgumentException("TOLLGATE_SECRETS_KEY must be the base64 of 32 random bytes, not "
                    + raw.length);
        }
        this.key = new SecretKeySpec(raw, "AES");
    }

    byte[] encrypt(String secret, String associated) {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associated.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            byte[] out = Arrays.copyOf(nonce, NONCE_BYTES + sealed.length);
            System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    /** @throws GeneralSecurityException when the value was sealed under another key or altered */
    String decrypt(byte[] stored, String associated) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, stored, 0, NONCE_BYTES));
        cipher.updateAAD(associated.getBytes(StandardCharsets.UTF_8));
        return new String(cipher.doFinal(stored, NONCE_BYTES, stored.length - NONCE_BYTES), StandardCharsets.UTF_8);
    }
}
