package dev.tollgate.files;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.pool.Upstream;
import io.agroal.api.AgroalDataSource;
import io.quarkus.logging.Log;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Records what code execution or skills made during an account's call (its {@link CallOutputs}) as
 * that account's: the files, so it and only it can read, download and delete them, and the
 * container, so only it can name it in a later call. Both live on the upstream that served the call.
 * The first account to be seen with an id keeps it: an id already recorded is never taken over.
 */
@Singleton
public class GeneratedResources {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final AgroalDataSource dataSource;
    private final UpstreamClient client;
    private final ExecutorService background = Executors.newVirtualThreadPerTaskExecutor();

    public GeneratedResources(AgroalDataSource dataSource, UpstreamClient client) {
        this.dataSource = dataSource;
        this.client = client;
    }

    /**
     * What a call's response is to do before it reaches the client: {@code respond} at once when the
     * call made nothing, else once what it made is recorded (off the event loop), so that a client
     * that asks for a file the moment it has the response finds it its own.
     */
    public Runnable recordThen(CallOutputs outputs, UUID account, UUID key, Upstream served, MultiMap clientHeaders,
                               Executor blocking, Context context, Runnable respond) {
        if (outputs == null || served == null || !outputs.found()) {
            return respond;
        }
        return () -> blocking.execute(() -> {
            record(account, key, served, outputs, clientHeaders);
            context.runOnContext(v -> respond.run());
        });
    }

    /** Records them now (blocking; a failure is logged, never thrown), then describes new files in the background. */
    public void record(UUID account, UUID key, Upstream served, CallOutputs outputs, MultiMap clientHeaders) {
        try {
            describe(served, insert(account, key, served.id(), outputs), clientHeaders);
        } catch (RuntimeException e) {
            Log.errorf(e, "Could not record the containers and files code execution made for account %s", account);
        }
    }

    /** @return the files newly recorded */
    private List<String> insert(UUID account, UUID key, UUID upstream, CallOutputs outputs) {
        try (Connection c = dataSource.getConnection()) {
            if (!outputs.containerIds().isEmpty()) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO containers (id, account_id, upstream_id)"
                        + " SELECT x, ?, ? FROM unnest(?::text[]) x ON CONFLICT (id) DO NOTHING")) {
                    ps.setObject(1, account);
                    ps.setObject(2, upstream);
                    ps.setArray(3, c.createArrayOf("text", outputs.containerIds().toArray()));
                    ps.executeUpdate();
                }
            }
            List<String> added = new ArrayList<>();
            if (!outputs.fileIds().isEmpty()) {
                // Until the upstream describes it (describe), the list shows what is known of it.
                try (PreparedStatement ps = c.prepareStatement("""
                        INSERT INTO files (id, account_id, key_id, upstream_id, size_bytes, snapshot, generated)
                        SELECT f, ?, ?, ?, 0, jsonb_build_object('id', f, 'type', 'file', 'downloadable', true), true
                        FROM unnest(?::text[]) f
                        ON CONFLICT (id) DO NOTHING RETURNING id""")) {
                    ps.setObject(1, account);
                    ps.setObject(2, key);
                    ps.setObject(3, upstream);
                    ps.setArray(4, c.createArrayOf("text", outputs.fileIds().toArray()));
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            added.add(rs.getString(1));
                        }
                    }
                }
            }
            return added;
        } catch (SQLException e) {
            throw new LedgerException("recording a call's generated files failed", e);
        }
    }

    /** Fetches each new file's object from its upstream, in the background, for the account's list. */
    private void describe(Upstream upstream, List<String> fileIds, MultiMap clientHeaders) {
        if (fileIds.isEmpty() || upstream.target() == null) {
            return;
        }
        MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("anthropic-beta", "files-api-2025-04-14");
        String version = clientHeaders.get("anthropic-version");
        if (version != null) {
            headers.add("anthropic-version", version);
        }
        for (String id : fileIds) {
            client.call(upstream.target(), HttpMethod.GET, "/v1/files/" + id, headers, new byte[0]).onSuccess(answer -> {
                if (answer.status() == 200) {
                    background.execute(() -> {
                        try {
                            JsonNode file = JSON.readTree(answer.body().getBytes());
                            update(id, file.toString(), file.path("size_bytes").asLong(0));
                        } catch (IOException | RuntimeException e) {
                            Log.warnf("Could not keep the object of generated file %s: %s", id, e.toString());
                        }
                    });
                }
            });
        }
    }

    private void update(String id, String snapshot, long size) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE files SET snapshot = ?::jsonb, size_bytes = ? WHERE id = ? AND generated")) {
            ps.setString(1, snapshot);
            ps.setLong(2, size);
            ps.setString(3, id);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("file update failed", e);
        }
    }
}
