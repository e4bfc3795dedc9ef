package dev.tollgate.ops;

import org.jboss.logging.MDC;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The gateway's virtual threads log with the request id of the code that handed them work. */
class RequestLogContextTest {

    @Test
    void tasksRunWithTheSubmittersMdcAndLeaveNothingBehind() throws Exception {
        ExecutorService executor = RequestLogContext.propagating(Executors.newSingleThreadExecutor());
        try {
            MDC.put(RequestLogContext.MDC_KEY, "req_submitter");
            CompletableFuture<Object> seen = new CompletableFuture<>();
            executor.execute(() -> seen.complete(MDC.get(RequestLogContext.MDC_KEY)));
            assertEquals("req_submitter", seen.get(5, TimeUnit.SECONDS));

            MDC.remove(RequestLogContext.MDC_KEY);
            CompletableFuture<Object> after = new CompletableFuture<>();
            executor.execute(() -> after.complete(MDC.get(RequestLogContext.MDC_KEY)));
            assertNull(after.get(5, TimeUnit.SECONDS), "a pooled thread must not keep an earlier request's id");
        } finally {
            MDC.remove(RequestLogContext.MDC_KEY);
            executor.shutdownNow();
        }
    }
}
