package dev.tollgate.credit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.admin.Json;
import dev.tollgate.gateway.ClientIps;
import dev.tollgate.gateway.Gateway;
import dev.tollgate.keys.AuthenticatedKey;
import dev.tollgate.ledger.Money;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.util.Set;

/** A developer redeems a code with their own key: the code's amount is credited to the key's account. */
@Path("/v1/me/redeem")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class RedeemResource {

    private final Gateway gateway;
    private final ClientIps clientIps;
    private final RedemptionService codes;

    public RedeemResource(Gateway gateway, ClientIps clientIps, RedemptionService codes) {
        this.gateway = gateway;
        this.clientIps = clientIps;
        this.codes = codes;
    }

    @POST
    public RestResponse<CodeViews.Redemption> redeem(@Context HttpServerRequest request, JsonNode body) {
        return redeem(gateway.authenticate(request), clientIps.clientIp(request), body);
    }

    /** What {@code POST /v1/me/redeem} does and answers for {@code key} (the portal's form). */
    public RestResponse<CodeViews.Redemption> redeem(AuthenticatedKey key, String clientIp, JsonNode body) {
        String typed = Json.requiredString(Json.onlyFields(body, Set.of("code")), "code", 100);
        RedemptionService.Redeemed r = codes.redeem(key, clientIp, typed);
        return RestResponse.status(RestResponse.Status.CREATED, new CodeViews.Redemption(r.codeId(),
                Money.format(r.amount()), Money.format(r.balance()), Money.format(r.balance() - r.held()), r.entryId(),
                r.creditExpiresAt()));
    }
}
