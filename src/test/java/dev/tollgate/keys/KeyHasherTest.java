package dev.tollgate.keys;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Startup;
import io.quarkus.runtime.configuration.ConfigurationException;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pepper check that keeps production from starting without its key-hash secret. */
class KeyHasherTest {

    @Test
    void productionWithoutAPepperRefusesToStartWithOneClearLine() {
        for (Optional<String> missing : java.util.List.of(Optional.<String>empty(), Optional.of("  "))) {
            ConfigurationException e = assertThrows(ConfigurationException.class,
                    () -> KeyHasher.pepper(missing, LaunchMode.NORMAL));
            assertTrue(e.getMessage().startsWith("TOLLGATE_KEY_PEPPER must be set"), e.getMessage());
            assertTrue(e.getMessage().lines().count() == 1, "one line: " + e.getMessage());
        }
    }

    @Test
    void aShortPepperIsRefusedEverywhere() {
        for (LaunchMode mode : LaunchMode.values()) {
            assertThrows(ConfigurationException.class, () -> KeyHasher.pepper(Optional.of("too-short"), mode));
        }
    }

    @Test
    void devAndTestKeepTheirBuiltInPepperAndAConfiguredOneIsUsed() {
        assertEquals(KeyHasher.pepper(Optional.empty(), LaunchMode.DEVELOPMENT),
                KeyHasher.pepper(Optional.empty(), LaunchMode.TEST));
        assertEquals("production-pepper-0123456789",
                KeyHasher.pepper(Optional.of("production-pepper-0123456789"), LaunchMode.NORMAL));
    }

    /** The check must run while starting, not at the first key operation (which made that a 500). */
    @Test
    void theCheckRunsAtStartup() {
        assertTrue(KeyHasher.class.isAnnotationPresent(Startup.class));
    }
}
