package dev.tollgate.plans;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tollgate.admin.AuditLog;
import dev.tollgate.admin.Json;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.LedgerException;
import dev.tollgate.metering.PriceTable;
import io.quarkus.narayana.jta.QuarkusTransaction;
import io.quarkus.runtime.annotations.RegisterForReflection;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import org.jboss.resteasy.reactive.RestResponse;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * {@code /admin/v1/plans}: price plans (guarded by the admin filter). A change is audited, in
 * effect on this instance at once and on the others within {@code tollgate.plans.refresh-interval},
 * for calls admitted from then on; usage records already written never change.
 */
@Path("/admin/v1/plans")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class PlansResource {

    private static final Set<String> FIELDS = Set.of("name", "markup_percent", "model_overrides");

    private final PlanStore store;
    private final PlanBook book;
    private final PriceTable prices;
    private final AuditLog audit;

    public PlansResource(PlanStore store, PlanBook book, PriceTable prices, AuditLog audit) {
        this.store = store;
        this.book = book;
        this.prices = prices;
        this.audit = audit;
    }

    @RegisterForReflection
    record PlanView(UUID id, String name, String markupPercent, JsonNode modelOverrides, Instant createdAt,
                    Instant updatedAt) {
        static PlanView of(Plan p) {
            return new PlanView(p.id(), p.name(), p.markupPercent().toPlainString(),
                    PlanStore.overridesJson(p.modelOverrides()), p.createdAt(), p.updatedAt());
        }
    }

    /** The plans, and the default plan's markup (accounts without a plan). */
    @RegisterForReflection
    record ListView(List<PlanView> data, String defaultMarkupPercent) {
    }

    @POST
    public RestResponse<PlanView> create(JsonNode body) {
        Json.onlyFields(body, FIELDS);
        Instant now = PlanStore.now();
        Plan plan = new Plan(UUID.randomUUID(), Json.requiredString(body, "name", 200),
                PlanFields.markup(body, "markup_percent", "markup_percent", true),
                PlanFields.overrides(body.get("model_overrides"), prices), now, now);
        write("plan.create", plan, true);
        return RestResponse.status(RestResponse.Status.CREATED, PlanView.of(plan));
    }

    @GET
    public ListView list() {
        return new ListView(store.plans().values().stream().map(PlanView::of).toList(),
                book.defaultMarkupPercent().toPlainString());
    }

    @GET
    @Path("/{id}")
    public PlanView get(@PathParam("id") String id) {
        return PlanView.of(find(id));
    }

    /** Changes what is given; {@code model_overrides} is replaced whole ({@code null}: none). */
    @PATCH
    @Path("/{id}")
    public PlanView update(@PathParam("id") String id, JsonNode body) {
        Plan current = find(id);
        Json.onlyFields(body, FIELDS);
        Plan plan = new Plan(current.id(),
                body.has("name") ? Json.requiredString(body, "name", 200) : current.name(),
                body.has("markup_percent") ? PlanFields.markup(body, "markup_percent", "markup_percent", true)
                        : current.markupPercent(),
                body.has("model_overrides") ? PlanFields.overrides(body.get("model_overrides"), prices)
                        : current.modelOverrides(),
                current.createdAt(), PlanStore.now());
        write("plan.update", plan, false);
        return PlanView.of(plan);
    }

    private Plan find(String id) {
        Plan plan = store.plans().get(Json.uuid(id, "Plan"));
        if (plan == null) {
            throw ApiException.notFound("Plan " + id + " not found");
        }
        return plan;
    }

    private void write(String action, Plan plan, boolean insert) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", plan.name());
        details.put("markup_percent", plan.markupPercent().toPlainString());
        details.put("model_overrides", PlanStore.overridesJson(plan.modelOverrides()));
        QuarkusTransaction.requiringNew().run(() -> {
            try (Connection c = store.connection()) {
                store.save(c, plan, insert);
            } catch (SQLException e) {
                throw new LedgerException("saving the plan failed", e);
            }
            audit.record(action, plan.id().toString(), details);
        });
        book.refresh();
    }
}
