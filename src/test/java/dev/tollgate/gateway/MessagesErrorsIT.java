package dev.tollgate.gateway;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link MessagesErrorsTest} against the packaged application (the native executable with -Dnative). */
@QuarkusIntegrationTest
class MessagesErrorsIT extends MessagesErrorsTest {
}
