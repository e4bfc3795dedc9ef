package dev.tollgate.webhooks;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A webhook endpoint for tests (the JDK's HTTP server): records what it receives, answers with the statuses it is given. */
final class WebhookReceiver implements AutoCloseable {

    record Received(String id, String timestamp, String signature, String body) {
    }

    private final HttpServer server;
    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    /** Statuses to answer with, in order; 200 once they are used up. */
    private final ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();

    WebhookReceiver(Integer... statuses) throws IOException {
        this.statuses.addAll(java.util.List.of(statuses));
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            var h = exchange.getRequestHeaders();
            received.add(new Received(h.getFirst("webhook-id"), h.getFirst("webhook-timestamp"),
                    h.getFirst("webhook-signature"), body));
            Integer status = this.statuses.poll();
            exchange.sendResponseHeaders(status == null ? 200 : status, -1);
            exchange.close();
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    /** The next request whose body passes {@code filter} (others are dropped), waiting up to {@code seconds}; null if none came. */
    Received next(Predicate<String> filter, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            Received r = received.poll(100, TimeUnit.MILLISECONDS);
            if (r != null && filter.test(r.body())) {
                return r;
            }
        }
        return null;
    }

    /** Everything received so far that passes {@code filter}. */
    java.util.List<Received> drain(Predicate<String> filter) {
        java.util.List<Received> all = new java.util.ArrayList<>();
        received.drainTo(all);
        return all.stream().filter(r -> filter.test(r.body())).toList();
    }

    static Predicate<String> about(String accountId) {
        return body -> body.contains(accountId);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
