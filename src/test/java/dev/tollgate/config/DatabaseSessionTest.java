package dev.tollgate.config;

import dev.tollgate.support.FakeUpstreamResource;
import io.agroal.api.AgroalDataSource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Tollgate's connections plan for few rows: no JIT and no parallel workers, whatever the server's
 * defaults (PostgreSQL's are on and 2), because a misestimated range would otherwise pay both.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class DatabaseSessionTest {

    @Inject
    AgroalDataSource dataSource;

    private String setting(Connection c, String name) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void connectionsRunWithoutJitOrParallelWorkers() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            assertEquals("off", setting(c, "jit"));
            assertEquals("0", setting(c, "max_parallel_workers_per_gather"));
        }
    }
}
