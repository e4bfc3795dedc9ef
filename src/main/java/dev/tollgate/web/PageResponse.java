package dev.tollgate.web;

import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * A page's answer decided before the page runs (to the sign-in page, or 403 for a forged form),
 * thrown from wherever that is decided and answered as is.
 */
public class PageResponse extends RuntimeException {

    private final transient Response response;

    public PageResponse(Response response) {
        super(null, null, false, false);
        this.response = response;
    }

    public Response response() {
        return response;
    }

    public static class Mapper {
        @ServerExceptionMapper
        public Response map(PageResponse e) {
            return e.response();
        }
    }
}
