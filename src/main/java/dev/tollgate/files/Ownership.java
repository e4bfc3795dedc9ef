package dev.tollgate.files;

import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.LedgerException;
import io.agroal.api.AgroalDataSource;
import jakarta.inject.Singleton;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Whether an account owns the files, custom skills and container a request names. They live on
 * the upstream under the operator's organization, where every customer's key could reach them; so
 * a request naming one its account did not upload (or whose calls did not make it) is refused with
 * the upstream's own 404 before it is sent. One indexed query per request that names any (requests
 * naming none never get here).
 */
@Singleton
public class Ownership {

    private final AgroalDataSource dataSource;

    public Ownership(AgroalDataSource dataSource) {
        this.dataSource = dataSource;
    }

    /**
     * @return the upstream the named files, skills and containers are stored on (the call must go
     *         there), or null when none is named
     * @throws ApiException 404 not_found_error for the first one the account does not own, 400 when
     *                      they are stored on different upstreams
     */
    public UUID check(UUID accountId, Collection<String> fileIds, Collection<String> skillIds,
                      Collection<String> containerIds) {
        Set<String> files = fileIds == null ? Set.of() : new LinkedHashSet<>(fileIds);
        Set<String> skills = skillIds == null ? Set.of() : new LinkedHashSet<>(skillIds);
        Set<String> containers = containerIds == null ? Set.of() : new LinkedHashSet<>(containerIds);
        if (files.isEmpty() && skills.isEmpty() && containers.isEmpty()) {
            return null;
        }
        Map<String, UUID> owned = new HashMap<>();
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement("""
                SELECT id, upstream_id FROM files WHERE id = ANY (?) AND account_id = ? AND deleted_at IS NULL
                UNION ALL
                SELECT id, upstream_id FROM skills WHERE id = ANY (?) AND account_id = ? AND deleted_at IS NULL
                UNION ALL
                SELECT id, upstream_id FROM containers WHERE id = ANY (?) AND account_id = ?
                """)) {
            Array f = c.createArrayOf("text", files.toArray());
            Array s = c.createArrayOf("text", skills.toArray());
            ps.setArray(1, f);
            ps.setObject(2, accountId);
            ps.setArray(3, s);
            ps.setObject(4, accountId);
            ps.setArray(5, c.createArrayOf("text", containers.toArray()));
            ps.setObject(6, accountId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    owned.put(rs.getString(1), rs.getObject(2, UUID.class));
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("ownership lookup failed", e);
        }
        for (String id : files) {
            if (!owned.containsKey(id)) {
                throw ApiException.notFound("File not found: " + id);
            }
        }
        for (String id : skills) {
            if (!owned.containsKey(id)) {
                throw ApiException.notFound("Skill not found: " + id);
            }
        }
        for (String id : containers) {
            if (!owned.containsKey(id)) {
                throw ApiException.notFound("Container not found: " + id);
            }
        }
        Set<UUID> upstreams = new LinkedHashSet<>(owned.values());
        if (upstreams.size() > 1) {
            throw ApiException.invalidRequest("The files, skills and containers of one request must be stored on the same upstream;"
                    + " these are stored on " + upstreams.size() + " different ones");
        }
        return upstreams.iterator().next();
    }
}
