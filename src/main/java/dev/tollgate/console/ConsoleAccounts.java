package dev.tollgate.console;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.admin.AdminAuthFilter;
import dev.tollgate.admin.AdminResource;
import dev.tollgate.api.ApiException;
import dev.tollgate.ledger.Account;
import dev.tollgate.plans.PlansResource;
import dev.tollgate.web.Forms;
import dev.tollgate.web.Formats;
import dev.tollgate.web.UsageViews;
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
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;
import dev.tollgate.web.WebErrors;
import org.jboss.resteasy.reactive.RestForm;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static dev.tollgate.console.ConsoleResource.back;
import static dev.tollgate.console.ConsoleResource.blank;
import static dev.tollgate.console.ConsoleResource.page;

/**
 * The console's accounts: a searchable list, and an account's page with its balance, keys,
 * limits, usage, recent calls and ledger, and the forms that change them through the admin API's
 * own methods. Each page reads a bounded amount: the roll-ups of the last 30 days, the newest
 * 20 calls and entries by index, and the reconciliation (a sum over the whole account) only on
 * its own page, when asked.
 */
@Path("/console/accounts")
@Blocking
@Produces(MediaType.TEXT_HTML)
public class ConsoleAccounts {

    @jakarta.inject.Inject
    WebErrors errors;

    private static final int PAGE = 25;

    private final WebSessions sessions;
    private final AdminAuthFilter admin;
    private final AdminResource api;
    private final UsageViews usage;
    private final Forms forms;
    private final PlansResource plans;
    private final Template listPage;
    private final Template accountPage;
    private final Template reconciliationPage;

    public ConsoleAccounts(WebSessions sessions, AdminAuthFilter admin, AdminResource api, UsageViews usage, Forms forms,
                           PlansResource plans,
                           @Location("console/accounts.html") Template listPage,
                           @Location("console/account.html") Template accountPage,
                           @Location("console/reconciliation.html") Template reconciliationPage) {
        this.sessions = sessions;
        this.admin = admin;
        this.api = api;
        this.usage = usage;
        this.forms = forms;
        this.plans = plans;
        this.listPage = listPage;
        this.accountPage = accountPage;
        this.reconciliationPage = reconciliationPage;
    }

    private WebSessions.Session session(HttpServerRequest request) {
        return sessions.require(WebSessions.Kind.CONSOLE, request, admin.actor());
    }

    private WebSessions.Session post(HttpServerRequest request, String csrf) {
        return sessions.requirePost(WebSessions.Kind.CONSOLE, request, admin.actor(), csrf);
    }

    /** Newest first, {@value #PAGE} a page (the admin API's listing); {@code q}: a name or id prefix, or an id. */
    @GET
    public Response list(@Context HttpServerRequest request, @QueryParam("q") String q,
                         @QueryParam("cursor") String cursor, @QueryParam("msg") String msg,
                         @QueryParam("error") String error) {
        WebSessions.Session s = session(request);
        String query = blank(q);
        if (query != null) {
            try {
                UUID id = UUID.fromString(query);
                if (Account.findById(id) != null) {
                    return Response.seeOther(java.net.URI.create("/console/accounts/" + id)).build();
                }
            } catch (IllegalArgumentException notAnId) {
                // a name
            }
        }
        Map<String, Object> listing;
        try {
            listing = forms.view(api.listAccounts(query, PAGE, blank(cursor)));
        } catch (ApiException e) {
            listing = Map.of("data", List.of());
            error = e.getMessage();
        }
        return Response.ok(page(listPage, s, "accounts").data("accounts", listing.get("data")).data("q", query)
                .data("next", listing.get("next_cursor")).data("msg", msg).data("error", error)).build();
    }

    @POST
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response create(@Context HttpServerRequest request, @RestForm("_csrf") String csrf, @RestForm String name) {
        post(request, csrf);
        ObjectNode body = Forms.object();
        body.put("name", name == null ? "" : name.trim());
        try {
            Map<String, Object> created = forms.view(api.createAccount(body));
            return back("/console/accounts/" + created.get("id"), "Account created.", null);
        } catch (ApiException e) {
            return back("/console/accounts", null, e.getMessage());
        }
    }

    @GET
    @Path("/{id}")
    public TemplateInstance account(@Context HttpServerRequest request, @PathParam("id") String id,
                                    @QueryParam("msg") String msg, @QueryParam("error") String error) {
        WebSessions.Session s = session(request);
        return accountPage(s, id, msg, error, null);
    }

    private TemplateInstance accountPage(WebSessions.Session s, String id, String msg, String error,
                                         Map<String, Object> issuedKey) {
        Map<String, Object> account = forms.view(api.account(id));
        UUID accountId = UUID.fromString(id);
        List<Map<String, Object>> keys = forms.data(api.listKeys(id));
        List<Map<String, Object>> calls = forms.data(api.usage(id, 20, null, null, null));
        List<Map<String, Object>> entries = forms.data(api.ledgerEntries(id, 20));
        Instant since = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(29, ChronoUnit.DAYS);
        return page(accountPage, s, "accounts").data("a", account).data("keys", keys).data("calls", calls)
                .data("entries", entries).data("today", usage.totals(accountId, UsageViews.dayStart()))
                .data("month", usage.totals(accountId, UsageViews.monthStart()))
                .data("chart", forms.toJson(usage.series(accountId, since, false, false)))
                .data("idempotency", UUID.randomUUID().toString()).data("issued", issuedKey)
                .data("limitFields", limitFields()).data("plans", forms.view(plans.list()))
                .data("msg", msg).data("error", error);
    }

    TemplateInstance issuedPage(WebSessions.Session s, String accountId, String msg, Map<String, Object> issued) {
        return accountPage(s, accountId, msg, null, issued);
    }

    /** The limit fields with their labels, in form order. */
    static List<Map<String, String>> limitFields() {
        return List.of(Map.of("name", "requests_per_minute", "label", "Requests / minute"),
                Map.of("name", "tokens_per_minute", "label", "Tokens / minute"),
                Map.of("name", "max_concurrent", "label", "Concurrent calls"),
                Map.of("name", "daily_spend_limit_usd", "label", "Daily spend (USD)"),
                Map.of("name", "monthly_spend_limit_usd", "label", "Monthly spend (USD)"),
                Map.of("name", "lifetime_spend_limit_usd", "label", "Lifetime spend (USD)"));
    }

    @GET
    @Path("/{id}/reconciliation")
    public TemplateInstance reconciliation(@Context HttpServerRequest request, @PathParam("id") String id) {
        WebSessions.Session s = session(request);
        Map<String, Object> account = forms.view(api.account(id));
        return page(reconciliationPage, s, "accounts").data("a", account).data("r", forms.view(api.reconciliation(id)));
    }

    @POST
    @Path("/{id}/topups")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response topup(@Context HttpServerRequest request, @PathParam("id") String id, @RestForm("_csrf") String csrf,
                          @RestForm("amount_usd") String amount, @RestForm String note,
                          @RestForm("idempotency_key") String idempotencyKey,
                          @RestForm("credit_expires_in_days") String expiresInDays) {
        return credit(request, id, csrf, amount, note, idempotencyKey, expiresInDays, true);
    }

    @POST
    @Path("/{id}/adjustments")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response adjust(@Context HttpServerRequest request, @PathParam("id") String id, @RestForm("_csrf") String csrf,
                           @RestForm("amount_usd") String amount, @RestForm String note,
                           @RestForm("idempotency_key") String idempotencyKey) {
        return credit(request, id, csrf, amount, note, idempotencyKey, null, false);
    }

    /**
     * A top-up or adjustment with the Idempotency-Key the form was rendered with: a form sent twice
     * (a double click, a reload) credits once.
     */
    private Response credit(HttpServerRequest request, String id, String csrf, String amount, String note,
                            String idempotencyKey, String expiresInDays, boolean topup) {
        post(request, csrf);
        ObjectNode body = Forms.object();
        body.put("amount_usd", amount == null ? "" : amount.trim());
        if (blank(expiresInDays) != null) {
            try {
                body.put("credit_expires_in_days", Integer.parseInt(expiresInDays.trim()));
            } catch (NumberFormatException e) {
                body.put("credit_expires_in_days", expiresInDays.trim());
            }
        }
        if (blank(note) != null) {
            body.put("note", note.trim());
        }
        String path = "/console/accounts/" + id;
        try {
            var answer = topup ? api.topup(id, body, blank(idempotencyKey)) : api.adjust(id, body, blank(idempotencyKey));
            Map<String, Object> v = forms.view(answer);
            boolean replayed = answer.getHeaders().containsKey("idempotent-replayed");
            return back(path, (topup ? "Top-up" : "Adjustment") + " of " + Formats.usd((String) v.get("amount_usd"))
                    + (replayed ? " was already credited (same form sent twice)." : " credited."), null);
        } catch (ApiException e) {
            return back(path, null, e.getMessage());
        }
    }

    @POST
    @Path("/{id}/limits")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response limits(@Context HttpServerRequest request, @PathParam("id") String id,
                           MultivaluedMap<String, String> form) {
        post(request, form.getFirst("_csrf"));
        try {
            api.updateAccount(id, Forms.limits(single(form)));
            return back("/console/accounts/" + id, "Account limits saved.", null);
        } catch (ApiException e) {
            return back("/console/accounts/" + id, null, e.getMessage());
        }
    }

    /** Puts the account on a plan (empty: the default plan), as PATCH plan_id does. */
    @POST
    @Path("/{id}/plan")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response plan(@Context HttpServerRequest request, @PathParam("id") String id, @RestForm("_csrf") String csrf,
                         @RestForm("plan_id") String planId) {
        post(request, csrf);
        ObjectNode body = Forms.object();
        if (blank(planId) == null) {
            body.putNull("plan_id");
        } else {
            body.put("plan_id", planId.trim());
        }
        try {
            api.updateAccount(id, body);
            return back("/console/accounts/" + id, "Plan saved: it applies to calls admitted from now on.", null);
        } catch (ApiException e) {
            return back("/console/accounts/" + id, null, e.getMessage());
        }
    }

    /** Issues a key; the page shows its secret once, in a dialog. */
    @POST
    @Path("/{id}/keys")
    @Consumes(MediaType.APPLICATION_FORM_URLENCODED)
    public Response createKey(@Context HttpServerRequest request, @PathParam("id") String id,
                              @RestForm("_csrf") String csrf, @RestForm String name) {
        WebSessions.Session s = post(request, csrf);
        ObjectNode body = Forms.object();
        body.put("name", name == null ? "" : name.trim());
        try {
            Map<String, Object> issued = forms.view(api.createKey(id, body));
            return Response.ok(accountPage(s, id, "Key created.", null, issued)).build();
        } catch (ApiException e) {
            return back("/console/accounts/" + id, null, e.getMessage());
        }
    }

    static Map<String, String> single(MultivaluedMap<String, String> form) {
        Map<String, String> m = new HashMap<>();
        form.forEach((k, v) -> m.put(k, v.isEmpty() ? "" : v.get(0)));
        return m;
    }

    @ServerExceptionMapper
    public Response error(ApiException e) {
        return errors.page(e);
    }
}
