package dev.tollgate.admin;

import io.quarkus.test.junit.QuarkusIntegrationTest;

/** {@link AdminApiTest} against the packaged application (the native executable with -Dnative). */
@QuarkusIntegrationTest
class AdminApiIT extends AdminApiTest {
}
