package dev.tollgate.devdb;

import io.quarkus.runtime.ExecutionMode;
import io.quarkus.runtime.configuration.ConfigurationException;
import io.smallrye.config.ConfigSourceContext;
import io.smallrye.config.ConfigSourceFactory;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.PropertiesConfigSource;
import org.eclipse.microprofile.config.spi.ConfigSource;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Dev mode and tests without a configured database get a real PostgreSQL of their own: when
 * {@code quarkus.datasource.jdbc.url} is set nowhere (property, {@code QUARKUS_DATASOURCE_JDBC_URL},
 * or the profile's {@code _TEST_QUARKUS_DATASOURCE_JDBC_URL}), this starts an embedded server and
 * supplies its URL before Agroal and Flyway read their configuration. A configured URL always wins.
 * A packaged application (production, Lambda) carries no embedded binaries and, without a URL,
 * stops at start with one line saying what to set.
 */
public class EmbeddedDatabaseConfig implements ConfigSourceFactory {

    static final String URL_PROPERTY = "quarkus.datasource.jdbc.url";

    private static final String EMBEDDED_CLASS = "io.zonky.test.db.postgres.embedded.EmbeddedPostgres";

    @Override
    public Iterable<ConfigSource> getConfigSources(ConfigSourceContext context) {
        ConfigValue configured = context.getValue(URL_PROPERTY);
        if (configured != null && configured.getValue() != null) {
            return List.of();
        }
        EmbeddedServers.Purpose purpose = purposeOf(context.getProfiles());
        if (purpose != null && embeddedBinariesPresent()) {
            String url = EmbeddedServers.jdbcUrl(purpose);
            return List.of(new PropertiesConfigSource(Map.of(URL_PROPERTY, url), "tollgate-embedded-postgres", 100));
        }
        // The build reads its configuration too, without any URL; only a starting application needs one.
        if (ExecutionMode.current() == ExecutionMode.RUNTIME_INIT) {
            throw new ConfigurationException("No database configured: set QUARKUS_DATASOURCE_JDBC_URL "
                    + "(e.g. jdbc:postgresql://db.example:5432/tollgate) and, if needed, QUARKUS_DATASOURCE_USERNAME "
                    + "and QUARKUS_DATASOURCE_PASSWORD; only dev mode and tests start a database of their own");
        }
        return List.of();
    }

    @Override
    public OptionalInt getPriority() {
        return OptionalInt.of(100);
    }

    private static EmbeddedServers.Purpose purposeOf(List<String> profiles) {
        if (profiles.contains("test")) {
            return EmbeddedServers.Purpose.TEST;
        }
        return profiles.contains("dev") ? EmbeddedServers.Purpose.DEV : null;
    }

    /** Present in dev mode and tests; left out of packaged applications (see pom.xml). */
    private static boolean embeddedBinariesPresent() {
        try {
            Class.forName(EMBEDDED_CLASS, false, EmbeddedDatabaseConfig.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
