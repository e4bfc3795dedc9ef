package dev.tollgate.gateway;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link MessagesStreamingTest} against the packaged application (the native executable with -Dnative). */
@QuarkusIntegrationTest
class MessagesStreamingIT extends MessagesStreamingTest {
}
