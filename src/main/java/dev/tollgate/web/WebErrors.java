package dev.tollgate.web;

import dev.tollgate.api.ApiException;
import io.quarkus.qute.Location;
import io.quarkus.qute.Template;
import jakarta.inject.Singleton;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

/** An API error met by a page (an unknown id, say): the same status, as a page rather than JSON. */
@Singleton
public class WebErrors {

    private final Template template;

    public WebErrors(@Location("error.html") Template template) {
        this.template = template;
    }

    public Response page(ApiException e) {
        return Response.status(e.status()).type(MediaType.TEXT_HTML_TYPE)
                .entity(template.data("status", e.status()).data("message", e.getMessage()).render()).build();
    }
}
