package dev.tollgate.upstream.pool;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CredentialCipherTest {

    private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);
    private static final String OTHER_KEY = Base64.getEncoder().encodeToString("another-32-byte-key-for-a-test!!".getBytes());
    private static final String SECRET = "sk-ant-api03-secret-value-XYZ9";

    @Test
    void sealedCredentialsOpenOnlyWithTheSameKeyAndRow() throws GeneralSecurityException {
        CredentialCipher cipher = new CredentialCipher(KEY);
        byte[] sealed = cipher.encrypt(SECRET, "row-1");
        assertEquals(SECRET, cipher.decrypt(sealed, "row-1"));
        assertThrows(GeneralSecurityException.class, () -> new CredentialCipher(OTHER_KEY).decrypt(sealed, "row-1"));
        assertThrows(GeneralSecurityException.class, () -> cipher.decrypt(sealed, "row-2"), "bound to its row");
    }

    @Test
    void theStoredBytesRevealNothingOfTheKey() {
        CredentialCipher cipher = new CredentialCipher(KEY);
        byte[] one = cipher.encrypt(SECRET, "row-1");
        byte[] two = cipher.encrypt(SECRET, "row-1");
        assertFalse(new String(one, StandardCharsets.ISO_8859_1).contains("sk-ant"));
        assertFalse(HexFormat.of().formatHex(one).equals(HexFormat.of().formatHex(two)), "a fresh nonce each time");
    }

    @Test
    void aKeyThatIsNot32BytesIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new CredentialCipher(Base64.getEncoder().encodeToString(new byte[16])));
        assertThrows(IllegalArgumentException.class, () -> new CredentialCipher("not base64 !"));
    }
}
