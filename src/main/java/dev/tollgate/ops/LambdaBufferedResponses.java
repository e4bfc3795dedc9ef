package dev.tollgate.ops;

import io.quarkus.vertx.http.runtime.filters.Filters;
import io.vertx.core.http.HttpHeaders;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * In the Lambda build (-Plambda) a response is collected whole and returned as one event reply.
 * A chunked response (an SSE stream) would otherwise carry an empty {@code transfer-encoding}
 * header into that reply, which API Gateway and HTTP clients treat as "body until the connection
 * closes"; without it the reply gets a content-length. The body is not changed, only the header.
 */
@ApplicationScoped
public class LambdaBufferedResponses {

    /** Whether this is the Lambda build, where nothing may run after a response is returned. */
    public static final boolean LAMBDA_BUILD = present("io.quarkus.amazon.lambda.http.LambdaHttpHandler");

    void register(@Observes Filters filters) {
        if (LAMBDA_BUILD) {
            filters.register(ctx -> {
                ctx.addHeadersEndHandler(v -> ctx.response().headers().remove(HttpHeaders.TRANSFER_ENCODING));
                ctx.next();
            }, 998);
        }
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, LambdaBufferedResponses.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
