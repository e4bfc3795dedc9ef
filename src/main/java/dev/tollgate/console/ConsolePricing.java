package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.api.ApiException;
import dev.tollgate.plans.PlansResource;
import dev.tollgate.plans.PricesResource;
import dev.tollgate.reports.ReportsResource;
import dev.tollgate.web.Forms;
import dev.tollgate.web.WebErrors;
import dev.tollgate.web.WebSessions;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateInstance;
import io.smallrye.common.annotation.Blocking;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.RestForm;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.tollgate.console.ConsoleResource.back;
import static dev.tollgate.console.ConsoleResource.blank;
import static dev.tollgate.console.ConsoleResource.page;

/** Plans, prices and usage reports: the pages over /admin/v1/plans, /prices and /reports/usage. */
@Path("/console")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsolePricing {

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final PlansResource plansApi;
    private final PricesResource pricesApi;
    private final ReportsResource reportsApi;
    private final Forms forms;
    private final WebErrors errors;
    private final Template plansPage;
    private final Template pricesPage;
    private final Template reportsPage;

    public ConsolePricing(WebSessions sessions, AdminAuthFilter admin, PlansResource plansApi, PricesResource pricesApi,
                          ReportsResource reportsApi, Forms forms, WebErrors errors,
                          @Location("console/plans.html") Template plansPage,
                          @Location("console/prices.html") Template pricesPage,
                          @Location("console/reports.html") Template reportsPage) {
        this.sessions = sessions;
        this.admin = admin;
        this.plansApi = plansApi;
        this.pricesApi = pricesApi;
        this.reportsApi = reportsApi;
        this.forms = forms;
        this.errors = errors;
        this.plansPage = plansPage;
        this.pricesPage = pricesPage;
        this.reportsPage = reportsPage;
    }

    private WebSessions.Session session(HttpServerRequest request) {
        return sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor());
    }

    @GET
    @Path("/plans")
    public TemplateInstance plans(@Context HttpServerRequest request, @QueryParam("msg") String msg,
                                  @QueryParam("error") String error) {
        WebSessions.Session s = session(request);
        Map<String, Object> list = forms.view(plansApi.list());
        for (Object p : (List<?>) list.get("data")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> plan = (Map<String, Object>) p;
            plan.put("overrides_json", forms.toJson(plan.get("model_overrides")));
            plan.put("overrides_text", ConsolePricingForms.overridesText(plan.get("model_overrides")));
        }
        return page(plansPage, s, "plans").data("plans", list).data("msg", msg).data("error", error);
    }

    @POST
    @Path("/plans")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response createPlan(@Context HttpServerRequest request, @RestForm("_csrf") String csrf,
                               @RestForm String name, @RestForm("markup_percent") String markup) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        ObjectNode body = Forms.object();
        body.put("name", name == null ? "" : name.trim());
        body.put("markup_percent", markup == null ? "" : markup.trim());
        try {
            plansApi.create(body);
            return back("/console/plans", "Plan created.", null);
        } catch (ApiException e) {
            return back("/console/plans", null, e.getMessage());
        }
    }

    @GET
    @Path("/prices")
    public TemplateInstance prices(@Context HttpServerRequest request, @QueryParam("edit") String edit,
                                   @QueryParam("msg") String msg, @QueryParam("error") String error) {
        WebSessions.Session s = session(request);
        List<Map<String, Object>> prices = forms.data(pricesApi.list());
        // The form starts from the model's prices in effect (its band too: a PUT without one removes it).
        Map<String, Object> form = prices.stream().filter(p -> p.get("id").equals(edit)).findFirst()
                .<Map<String, Object>>map(p -> {
                    Map<String, Object> prefilled = new LinkedHashMap<>(p);
                    prefilled.put("aliases_text", FormFields.joined(p.get("aliases")));
                    return prefilled;
                })
                .orElse(Map.of("id", blank(edit) == null ? "" : edit.trim()));
        return page(pricesPage, s, "prices").data("prices", prices).data("form", form).data("msg", msg)
                .data("error", error);
    }

    /** Rows a report page shows (a table of thousands is read by nobody; the CSV has them all). */
    static final int PAGE_ROWS = 200;

    /** A usage report over whole hours (default: this month so far, by day), as a table or CSV. */
    @GET
    @Path("/reports")
    public Response reports(@Context HttpServerRequest request, @QueryParam("from") String from,
                            @QueryParam("to") String to, @QueryParam("group_by") String groupBy,
                            @QueryParam("format") String format) {
        WebSessions.Session s = session(request);
        Instant now = Instant.now().truncatedTo(ChronoUnit.HOURS).plus(1, ChronoUnit.HOURS);
        String fromText = blank(from) == null ? dev.tollgate.web.UsageViews.monthStart().toString() : from.trim();
        String toText = blank(to) == null ? now.toString() : to.trim();
        String by = blank(groupBy) == null ? "day" : groupBy.trim();
        if ("csv".equals(format)) {
            return reportsApi.usage(fromText, toText, by, "csv", null);
        }
        Map<String, Object> report;
        int allRows = 0;
        String error = null;
        try {
            Map<String, Object> whole = new LinkedHashMap<>(
                    (Map<String, Object>) reportsApi.usage(fromText, toText, by, "json", null).getEntity());
            List<?> data = (List<?>) whole.get("data");
            allRows = data.size();
            // A page shows the first rows; the CSV (and the API) has them all, the totals cover them all.
            whole.put("data", data.subList(0, Math.min(data.size(), PAGE_ROWS)));
            report = forms.view(whole);
        } catch (ApiException e) {
            report = Map.of("data", List.of());
            error = e.getMessage();
        }
        List<?> rows = (List<?>) report.get("data");
        List<String> columns = rows.isEmpty() ? List.of()
                : List.copyOf(((Map<?, ?>) rows.get(0)).keySet().stream().map(String::valueOf).toList());
        return Response.ok(page(reportsPage, s, "reports").data("report", report).data("columns", columns)
                .data("all_rows", allRows).data("cut", allRows > rows.size())
                .data("from", fromText).data("to", toText).data("group_by", by).data("error", error)).build();
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
