package dev.tollgate.support;

import org.eclipse.microprofile.config.ConfigProvider;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Real database faults for tests: the gateway's own database refusing connections for a while
 * (as during a failover or restart), with every connection it had killed. Works on the server
 * that the tests' datasource URL names, through its maintenance database.
 */
public final class DatabaseFaults implements AutoCloseable {

    private final Connection control;
    private final String database;

    private DatabaseFaults(Connection control, String database) {
        this.control = control;
        this.database = database;
    }

    /** Takes the database away: no new connections, and every existing one killed. Undone by {@link #close()}. */
    public static DatabaseFaults outage() throws SQLException {
        String url = ConfigProvider.getConfig().getValue("quarkus.datasource.jdbc.url", String.class);
        String user = ConfigProvider.getConfig().getOptionalValue("quarkus.datasource.username", String.class)
                .orElse("postgres");
        String password = ConfigProvider.getConfig().getOptionalValue("quarkus.datasource.password", String.class)
                .orElse("");
        // jdbc:postgresql://host:port/database?options → the same server's "postgres" database
        int slash = url.indexOf('/', "jdbc:postgresql://".length());
        int query = url.indexOf('?', slash);
        String database = url.substring(slash + 1, query < 0 ? url.length() : query);
        Connection control = DriverManager.getConnection(url.substring(0, slash + 1) + "postgres", user, password);
        DatabaseFaults faults = new DatabaseFaults(control, database);
        faults.run("ALTER DATABASE \"" + database + "\" ALLOW_CONNECTIONS false");
        faults.run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database + "'");
        return faults;
    }

    /** The database accepts connections again. */
    @Override
    public void close() throws SQLException {
        try {
            run("ALTER DATABASE \"" + database + "\" ALLOW_CONNECTIONS true");
        } finally {
            control.close();
        }
    }

    private void run(String sql) throws SQLException {
        try (PreparedStatement ps = control.prepareStatement(sql)) {
            ps.execute();
        }
    }
}
