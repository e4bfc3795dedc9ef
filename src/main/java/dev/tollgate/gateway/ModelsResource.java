package dev.tollgate.gateway;

import dev.tollgate.api.ApiException;
import dev.tollgate.metering.ModelPrice;
import dev.tollgate.metering.PriceTable;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GET /v1/models and /v1/models/{id}: the models served today (retired ones are left out), in
 * Anthropic's shape (after_id/before_id pagination) with OpenAI's object/created/owned_by fields
 * added so both SDKs can list them.
 *
 * <p>The OpenAI SDK does not page models: it reads one response. A request with no paging
 * parameter and no {@code anthropic-version} header (which the Anthropic SDKs always send) gets
 * every model at once; any other gets Anthropic's pages of 20 by default.
 */
@Path("/v1/models")
@Produces(MediaType.APPLICATION_JSON)
public class ModelsResource {

    /** The Models API's default page size (digest §6.2). */
    private static final int ANTHROPIC_PAGE = 20;

    private final Gateway gateway;
    private final PriceTable prices;

    public ModelsResource(Gateway gateway, PriceTable prices) {
        this.gateway = gateway;
        this.prices = prices;
    }

    @GET
    public Map<String, Object> list(@Context HttpServerRequest request, @QueryParam("limit") Integer limit,
                                    @QueryParam("after_id") String afterId, @QueryParam("before_id") String beforeId) {
        gateway.authenticate(request);
        List<ModelPrice> all = prices.available();
        boolean unpaged = limit == null && afterId == null && beforeId == null
                && request.getHeader("anthropic-version") == null;
        int size = unpaged ? all.size() : limit == null ? ANTHROPIC_PAGE : limit;
        if (!unpaged && (size < 1 || size > 1000)) {
            throw ApiException.invalidRequest("limit: must be between 1 and 1000");
        }
        int from = 0;
        int to = all.size();
        if (afterId != null) {
            from = indexOf(all, afterId) + 1;
        }
        if (beforeId != null) {
            to = indexOf(all, beforeId);
            from = Math.max(from, to - size);
        }
        List<ModelPrice> page = all.subList(from, Math.min(to, from + size));
        List<Map<String, Object>> data = new ArrayList<>();
        page.forEach(m -> data.add(describe(m)));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("object", "list");
        body.put("data", data);
        body.put("has_more", beforeId != null ? from > 0 : from + page.size() < to);
        body.put("first_id", page.isEmpty() ? null : page.get(0).id());
        body.put("last_id", page.isEmpty() ? null : page.get(page.size() - 1).id());
        return body;
    }

    @GET
    @Path("/{id}")
    public Map<String, Object> get(@Context HttpServerRequest request, @PathParam("id") String id) {
        gateway.authenticate(request);
        return describe(gateway.servedModel(id).price());
    }

    private static int indexOf(List<ModelPrice> all, String id) {
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).id().equals(id)) {
                return i;
            }
        }
        throw ApiException.invalidRequest("No model with id " + id + " to page from");
    }

    private static Map<String, Object> describe(ModelPrice m) {
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "model");
        model.put("id", m.id());
        model.put("display_name", m.displayName());
        model.put("created_at", m.createdAt().toString());
        model.put("max_input_tokens", m.contextWindow());
        model.put("max_tokens", m.maxOutputTokens());
        model.put("object", "model");
        model.put("created", m.createdAt().getEpochSecond());
        model.put("owned_by", "anthropic");
        return model;
    }
}
