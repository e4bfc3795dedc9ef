package dev.tollgate.credit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.admin.Json;
import dev.tollgate.api.ApiException;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/** The operator's side of redemption codes: create (shown once), list, revoke. Guarded by AdminAuthFilter. */
@Path("/admin/v1/redemption-codes")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class RedemptionCodeResource {

    static final int MAX_COUNT = 10_000;
    static final int MAX_CREDIT_DAYS = 3650;
    private static final int MAX_PAGE = 1000;
    private static final Set<String> CREATE_FIELDS = Set.of("count", "amount_usd", "expires_at", "credit_expires_in_days", "note");

    private final RedemptionService codes;

    public RedemptionCodeResource(RedemptionService codes) {
        this.codes = codes;
    }

    @POST
    public RestResponse<CodeViews.Batch> create(JsonNode body) {
        Json.onlyFields(body, CREATE_FIELDS);
        JsonNode count = body.get("count");
        if (count == null || !count.isIntegralNumber() || !count.canConvertToInt() || count.asInt() < 1
                || count.asInt() > MAX_COUNT) {
            throw ApiException.invalidRequest("count: must be an integer from 1 to " + MAX_COUNT);
        }
        Long amount = Json.usd(body, "amount_usd", false);
        if (amount == null) {
            throw ApiException.invalidRequest("amount_usd: Field required, a decimal string such as \"10.00\"");
        }
        Instant expiresAt = Json.optionalInstant(body, "expires_at");
        if (expiresAt != null && !expiresAt.isAfter(Instant.now())) {
            throw ApiException.invalidRequest("expires_at: must be in the future");
        }
        Integer creditDays = creditExpiresInDays(body.get("credit_expires_in_days"));
        String note = Json.optionalString(body, "note", 500);
        return RestResponse.status(RestResponse.Status.CREATED,
                codes.create(count.asInt(), amount, expiresAt, creditDays, note));
    }

    /** Days from a redemption until its credit expires (a credit lot); absent or null: it never expires. */
    static Integer creditExpiresInDays(JsonNode days) {
        if (days == null || days.isNull()) {
            return null;
        }
        if (!days.isIntegralNumber() || !days.canConvertToInt() || days.asInt() < 1 || days.asInt() > MAX_CREDIT_DAYS) {
            throw ApiException.invalidRequest("credit_expires_in_days: must be an integer from 1 to " + MAX_CREDIT_DAYS);
        }
        return days.asInt();
    }

    @GET
    public CodeViews.Page list(@QueryParam("status") String status, @QueryParam("batch_id") String batchId,
                               @QueryParam("limit") Integer limit, @QueryParam("cursor") String cursor) {
        int size = limit == null ? 50 : limit;
        if (size < 1 || size > MAX_PAGE) {
            throw ApiException.invalidRequest("limit: must be between 1 and " + MAX_PAGE);
        }
        UUID batch = null;
        if (batchId != null) {
            try {
                batch = UUID.fromString(batchId);
            } catch (IllegalArgumentException e) {
                throw ApiException.invalidRequest("batch_id: must be a batch id as returned when the codes were created");
            }
        }
        return codes.list(status, batch, size, cursor == null ? null : CodeViews.Cursor.decode(cursor));
    }

    /** Revokes an unused code (404 unknown, 409 already redeemed); the code as listed. */
    @DELETE
    @Path("/{id}")
    public CodeViews.Code revoke(@PathParam("id") String id) {
        return codes.revoke(Json.uuid(id, "Redemption code"));
    }
}
