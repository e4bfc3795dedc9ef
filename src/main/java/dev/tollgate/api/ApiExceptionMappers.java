package dev.tollgate.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.quarkus.logging.Log;
import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/** Every error of the JAX-RS endpoints (models, admin) leaves in the Anthropic envelope. */
public class ApiExceptionMappers {

    @Inject
    CurrentVertxRequest current;

    @ServerExceptionMapper
    public Response apiException(ApiException e) {
        Response.ResponseBuilder builder = Response.status(e.status())
                .type(MediaType.APPLICATION_JSON_TYPE)
                .entity(AnthropicErrors.envelopeBytes(e, requestId()));
        e.headers().forEach(builder::header);
        return builder.build();
    }

    @ServerExceptionMapper
    public Response badJson(JsonProcessingException e) {
        return apiException(ApiException.invalidRequest("The request body is not valid JSON: " + e.getOriginalMessage()));
    }

    @ServerExceptionMapper
    public Response webApplication(WebApplicationException e) {
        int status = e.getResponse().getStatus();
        if (e.getCause() instanceof JsonProcessingException json) {
            return badJson(json);
        }
        String type = switch (status) {
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
        String message = status == 404 ? "Not found" : e.getMessage();
        return apiException(new ApiException(status, type, message));
    }

    @ServerExceptionMapper
    public Response unexpected(RuntimeException e) {
        Log.errorf(e, "Unhandled error in request %s", requestId());
        return apiException(new ApiException(500, "api_error", "Internal server error"));
    }

    private String requestId() {
        return current.getCurrent() != null ? RequestIds.of(current.getCurrent()) : RequestIds.newId();
    }
}
