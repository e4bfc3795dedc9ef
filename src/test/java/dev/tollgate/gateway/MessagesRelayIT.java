package dev.tollgate.gateway;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link MessagesRelayTest} against the packaged application (the native executable with -Dnative). */
@QuarkusIntegrationTest
class MessagesRelayIT extends MessagesRelayTest {
}
