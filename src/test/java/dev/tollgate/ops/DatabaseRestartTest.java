package dev.tollgate.ops;

import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.client;
import static dev.tollgate.support.Tollgate.messageBody;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * After the database drops every connection (a restart, a failover), the pool must hand no dead
 * connection to a call: the next admin request and the next metered call succeed.
 */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class DatabaseRestartTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    @Test
    void callsAfterTheDatabaseDroppedEveryConnectionSucceed() throws SQLException {
        String[] acct = Tollgate.fundedAccount("1");
        for (int i = 0; i < 3; i++) { // several pooled connections, all idle afterwards
            fake.enqueue(Scenario.reply("Hi").usage(Usage.of(10, 5)));
            client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages").then().statusCode(200);
        }

        assertTrue(terminateTollgatesConnections() > 0, "the pool had open connections");

        admin().get("/admin/v1/accounts/" + acct[0]).then().statusCode(200);
        fake.enqueue(Scenario.reply("Hi").usage(Usage.of(10, 5)));
        client(acct[1]).body(messageBody("claude-haiku-4-5", 10, "Hi")).post("/v1/messages").then().statusCode(200);
        client(acct[1]).get("/v1/me").then().statusCode(200);
        Tollgate.assertReconciled(acct[0]);
    }

    /** What a database restart does to Tollgate's connections; the number of backends ended. */
    private static int terminateTollgatesConnections() throws SQLException {
        String url = ConfigProvider.getConfig().getValue("quarkus.datasource.jdbc.url", String.class);
        try (Connection c = DriverManager.getConnection(url, "postgres", "");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND pid <> pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
