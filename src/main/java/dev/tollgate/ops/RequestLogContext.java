package dev.tollgate.ops;

import dev.tollgate.api.RequestIds;
import io.quarkus.vertx.http.runtime.filters.Filters;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import org.jboss.logging.MDC;

import java.util.List;
import java.util.Map;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Puts the request id in the logging MDC ({@code request_id}) so every log line of a request
 * carries it: the JSON log's {@code mdc} object in production, {@code %X{request_id}} in plain text.
 * On the event loop and Quarkus worker threads the MDC lives in the request's Vert.x context;
 * the gateway's own virtual threads get it through {@link #propagating}.
 */
@ApplicationScoped
public class RequestLogContext {

    public static final String MDC_KEY = "request_id";

    /** Runs right after the filter that assigns the id (priority 1000). */
    void register(@Observes Filters filters) {
        filters.register(ctx -> {
            MDC.put(MDC_KEY, RequestIds.of(ctx));
            ctx.next();
        }, 999);
    }

    /** Wraps an executor so each task runs with the MDC of the code that submitted it. */
    public static ExecutorService propagating(ExecutorService delegate) {
        return new AbstractExecutorService() {
            @Override
            public void execute(Runnable task) {
                Map<String, Object> submitter = MDC.getMap();
                delegate.execute(() -> {
                    submitter.forEach(MDC::put);
                    try {
                        task.run();
                    } finally {
                        MDC.clear();
                    }
                });
            }

            @Override
            public void shutdown() {
                delegate.shutdown();
            }

            @Override
            public List<Runnable> shutdownNow() {
                return delegate.shutdownNow();
            }

            @Override
            public boolean isShutdown() {
                return delegate.isShutdown();
            }

            @Override
            public boolean isTerminated() {
                return delegate.isTerminated();
            }

            @Override
            public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
                return delegate.awaitTermination(timeout, unit);
            }
        };
    }
}
