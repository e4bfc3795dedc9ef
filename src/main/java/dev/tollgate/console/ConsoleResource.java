package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.admin.AdminResource;
import dev.tollgate.api.ApiException;
import dev.tollgate.credit.RedemptionCodeResource;
import dev.tollgate.upstream.pool.UpstreamsResource;
import dev.tollgate.web.Forms;
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
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;
import dev.tollgate.web.WebErrors;
import org.jboss.resteasy.reactive.RestForm;

import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The operator console's dashboard and its pages over the admin API's other resources:
 * redemption codes and the audit log. Each page calls the same resource
 * methods the admin API serves, so it can do nothing the API cannot, and is audited the same.
 */
@Path("/console")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleResource {

    @jakarta.inject.Inject
    WebErrors errors;

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final Dashboard dashboard;
    private final AdminResource adminApi;
    private final RedemptionCodeResource codesApi;
    private final UpstreamsResource upstreamsApi;
    private final Forms forms;
    private final Template dashboardPage;
    private final Template codesPage;
    private final Template auditPage;

    public ConsoleResource(WebSessions sessions, AdminAuthFilter admin, Dashboard dashboard, AdminResource adminApi,
                           RedemptionCodeResource codesApi, UpstreamsResource upstreamsApi,
                           Forms forms,
                           @Location("console/dashboard.html") Template dashboardPage,
                           @Location("console/codes.html") Template codesPage,
                           @Location("console/audit.html") Template auditPage) {
        this.sessions = sessions;
        this.admin = admin;
        this.dashboard = dashboard;
        this.adminApi = adminApi;
        this.codesApi = codesApi;
        this.upstreamsApi = upstreamsApi;
        this.forms = forms;
        this.dashboardPage = dashboardPage;
        this.codesPage = codesPage;
        this.auditPage = auditPage;
    }

    WebSessions.Session session(HttpServerRequest request) {
        return sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor());
    }

    static TemplateInstance page(Template t, WebSessions.Session s, String nav) {
        return t.data("csrf", s.csrf()).data("nav", nav);
    }

    @GET
    public TemplateInstance dashboard(@Context HttpServerRequest request) {
        WebSessions.Session s = session(request);
        Map<String, Object> n = dashboard.numbers();
        List<Map<String, Object>> upstreams = forms.data(upstreamsApi.list());
        return page(dashboardPage, s, "dashboard").data("n", n).data("chart", forms.toJson(n.get("calls24h")))
                .data("upstreams", upstreams);
    }

    // ---- redemption codes

    @GET
    @Path("/codes")
    public TemplateInstance codes(@Context HttpServerRequest request, @QueryParam("status") String status,
                                  @QueryParam("cursor") String cursor, @QueryParam("msg") String msg,
                                  @QueryParam("error") String error) {
        WebSessions.Session s = session(request);
        Map<String, Object> list;
        try {
            list = forms.view(codesApi.list(blank(status), null, 50, blank(cursor)));
        } catch (ApiException e) {
            list = Map.of("data", List.of());
            error = e.getMessage();
        }
        return page(codesPage, s, "codes").data("codes", list.get("data")).data("next", list.get("next_cursor"))
                .data("status", blank(status)).data("statuses", List.of("unused", "redeemed", "expired", "revoked")).data("msg", msg).data("error", error);
    }

    /** Creates a batch and answers with its codes as CSV: the only time they are ever shown. */
    @POST
    @Path("/codes")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response createCodes(@Context HttpServerRequest request, @RestForm("_csrf") String csrf,
                                @RestForm String count, @RestForm("amount_usd") String amount,
                                @RestForm("expires_at") String expiresAt, @RestForm String note) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        ObjectNode body = Forms.object();
        try {
            body.put("count", Integer.parseInt(count == null ? "" : count.trim()));
        } catch (NumberFormatException e) {
            body.put("count", count);
        }
        body.put("amount_usd", amount == null ? null : amount.trim());
        if (blank(expiresAt) != null) {
            body.put("expires_at", expiresAt.trim());
        }
        if (blank(note) != null) {
            body.put("note", note);
        }
        Map<String, Object> batch;
        try {
            batch = forms.view(codesApi.create(body));
        } catch (ApiException e) {
            return back("/console/codes", null, e.getMessage());
        }
        StringBuilder csv = new StringBuilder("code,amount_usd,expires_at,batch_id,code_id\n");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> issued = (List<Map<String, Object>>) batch.get("codes");
        for (Map<String, Object> code : issued) {
            csv.append(code.get("code")).append(',').append(batch.get("amount_usd")).append(',')
                    .append(batch.get("expires_at") == null ? "" : batch.get("expires_at")).append(',')
                    .append(batch.get("batch_id")).append(',').append(code.get("id")).append('\n');
        }
        return Response.ok(csv.toString(), "text/csv; charset=utf-8")
                .header("Content-Disposition", "attachment; filename=\"codes-" + batch.get("batch_id") + ".csv\"")
                .header("Cache-Control", "no-store").build();
    }

    @POST
    @Path("/codes/{id}/revoke")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response revokeCode(@Context HttpServerRequest request, @PathParam("id") String id,
                               @RestForm("_csrf") String csrf) {
        sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
        try {
            codesApi.revoke(id);
        } catch (ApiException e) {
            return back("/console/codes", null, e.getMessage());
        }
        return back("/console/codes", "Code revoked.", null);
    }

    // ---- audit log (upstreams and webhooks: ConsoleUpstreams, ConsoleWebhooks)

    @GET
    @Path("/audit")
    public TemplateInstance audit(@Context HttpServerRequest request, @QueryParam("subject_id") String subject) {
        WebSessions.Session s = session(request);
        List<Map<String, Object>> entries = forms.data(adminApi.auditLog(blank(subject), 100));
        for (Map<String, Object> e : entries) {
            e.put("details_json", forms.toJson(e.get("details")));
        }
        return page(auditPage, s, "audit").data("entries", entries).data("subject", blank(subject));
    }

    static Response back(String path, String msg, String error) {
        StringBuilder url = new StringBuilder(path);
        char sep = path.contains("?") ? '&' : '?';
        if (msg != null) {
            url.append(sep).append("msg=").append(URLEncoder.encode(msg, StandardCharsets.UTF_8));
            sep = '&';
        }
        if (error != null) {
            url.append(sep).append("error=").append(URLEncoder.encode(error, StandardCharsets.UTF_8));
        }
        return Response.seeOther(URI.create(url.toString())).build();
    }

    static String blank(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
