package dev.tollgate.batches;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Singleton;

import java.io.IOException;

/** A batch object as the customer sees it: the upstream's, with {@code results_url} pointing at this gateway. */
@Singleton
class BatchView {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE = "/v1/messages/batches";

    private final BatchesConfig config;

    BatchView(BatchesConfig config) {
        this.config = config;
    }

    byte[] forCustomer(RoutingContext ctx, JsonNode batch) {
        try {
            return JSON.writeValueAsBytes(batch instanceof ObjectNode o ? withResultsUrl(ctx, o.deepCopy()) : batch);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** results_url pointing at this gateway (the SDKs fetch it verbatim, with the customer's key). */
    ObjectNode withResultsUrl(RoutingContext ctx, ObjectNode batch) {
        JsonNode url = batch.get("results_url");
        if (url != null && !url.isNull()) {
            batch.put("results_url", publicBase(ctx) + BASE + "/" + batch.path("id").asText() + "/results");
        }
        return batch;
    }

    private String publicBase(RoutingContext ctx) {
        if (config.publicBaseUrl().isPresent()) {
            String base = config.publicBaseUrl().get().trim();
            return base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        }
        String proto = ctx.request().getHeader("x-forwarded-proto");
        String host = ctx.request().getHeader("x-forwarded-host");
        if (host == null) {
            host = ctx.request().getHeader("host");
        }
        String scheme = proto != null ? proto.split(",")[0].trim() : ctx.request().scheme();
        return scheme + "://" + (host != null ? host : "localhost");
    }
}
