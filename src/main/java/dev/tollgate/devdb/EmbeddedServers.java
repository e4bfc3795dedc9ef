package dev.tollgate.devdb;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.jboss.logging.Logger;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * At most one embedded PostgreSQL per purpose and JVM. Quarkus builds its configuration several
 * times per JVM (augmentation, each test restart, each live reload), in class loaders that do not
 * share statics, so the running server's URL is kept in a system property that every later build
 * finds. The server stops with the JVM (the library's shutdown hook).
 */
final class EmbeddedServers {

    enum Purpose {
        /** Dev mode: data kept across restarts in a git-ignored directory of the project. */
        DEV(Path.of(".tollgate", "devdb"), Path.of(".tollgate", "postgres.log")),
        /** Tests: throwaway data in the temporary directory, removed when the JVM exits. */
        TEST(null, Path.of("target", "embedded-postgres.log"));

        final Path dataDirectory;
        final Path logFile;

        Purpose(Path dataDirectory, Path logFile) {
            this.dataDirectory = dataDirectory;
            this.logFile = logFile;
        }

        String urlProperty() {
            return "tollgate-embedded-postgres." + name().toLowerCase() + ".jdbc-url";
        }
    }

    private static final Logger LOG = Logger.getLogger(EmbeddedServers.class);
    private static final String DATABASE = "tollgate";

    private EmbeddedServers() {
    }

    static synchronized String jdbcUrl(Purpose purpose) {
        String running = System.getProperty(purpose.urlProperty());
        if (running != null) {
            return running;
        }
        String url = start(purpose);
        System.setProperty(purpose.urlProperty(), url);
        return url;
    }

    private static String start(Purpose purpose) {
        try {
            Files.createDirectories(purpose.logFile.toAbsolutePath().getParent());
            EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                    // The library turns this off for speed; Tollgate's durability rests on it being on.
                    .setServerConfig("synchronous_commit", "on")
                    .setPGStartupWait(Duration.ofMinutes(1))
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(purpose.logFile.toFile()));
            if (purpose.dataDirectory != null) {
                File data = purpose.dataDirectory.toAbsolutePath().toFile();
                stopOrphan(data.toPath());
                builder.setDataDirectory(data).setCleanDataDirectory(false);
            }
            EmbeddedPostgres server = builder.start();
            createDatabase(server);
            String url = server.getJdbcUrl("postgres", DATABASE);
            LOG.infof("No quarkus.datasource.jdbc.url configured: using an embedded PostgreSQL at %s (%s; log %s)",
                    url, purpose.dataDirectory == null ? "throwaway data" : "data in " + purpose.dataDirectory,
                    purpose.logFile);
            return url;
        } catch (IOException | SQLException e) {
            throw new IllegalStateException("Could not start the embedded PostgreSQL (see " + purpose.logFile
                    + "); or set QUARKUS_DATASOURCE_JDBC_URL to use a server", e);
        }
    }

    /**
     * A dev JVM killed outright (an IDE's stop button) leaves its server running on the kept data,
     * which would refuse to start a second one there; that orphan is stopped first.
     */
    private static void stopOrphan(Path dataDirectory) throws IOException {
        Path pidFile = dataDirectory.resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return;
        }
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
        ProcessHandle.of(pid)
                .filter(p -> p.info().command().map(c -> c.endsWith("postgres")).orElse(false))
                .ifPresent(orphan -> {
                    LOG.infof("Stopping the embedded PostgreSQL (pid %d) left running by an earlier dev JVM", pid);
                    orphan.destroy();
                    orphan.onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
                });
    }

    private static void createDatabase(EmbeddedPostgres server) throws SQLException {
        try (Connection c = server.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
                if (rs.next()) {
                    return;
                }
            }
            s.execute("CREATE DATABASE " + DATABASE);
        }
    }
}
