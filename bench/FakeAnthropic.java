import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The benchmark's fake Claude API: its own process, loopback only, as cheap as possible per call.
 *
 *   java bench/FakeAnthropic.java PORT [DELAY_MS] [GAP_MS]
 *
 * POST /v1/messages answers a Message (JSON) or, when the body has "stream":true, the SSE event
 * sequence of the Messages API (message_start, content_block_start, ping, 13 text deltas,
 * content_block_stop, message_delta with the full cumulative usage, message_stop). DELAY_MS is a
 * fixed wait before the response starts (a model's time to first token); GAP_MS a wait between
 * stream events. The message id carries System.nanoTime() at the moment message_start is written
 * ("msg_bench_<nanos>_<n>"): on one machine that clock is shared by every process (CLOCK_MONOTONIC),
 * so a client can tell how long the first event took from leaving the fake to reaching it.
 * GET /stats returns the number of messages served (to check metering against the upstream's count).
 */
public class FakeAnthropic {

    static final AtomicLong SERVED = new AtomicLong();
    static final AtomicLong SEQ = new AtomicLong();
    static long delayMs;
    static long gapMs;

    static final String TEXT = "Sure. Here is a short answer to your question: the gateway holds the cost of the call "
            + "before it reaches the model, then settles the exact price from the usage once the reply is complete.";
    static final String[] DELTAS = splitWords(TEXT, 3);

    // The full usage object of a Message: cache fields, breakdown, tier, geo.
    static final String USAGE = "{\"input_tokens\":42,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
            + "\"cache_creation\":{\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0},"
            + "\"output_tokens\":87,\"service_tier\":\"standard\",\"inference_geo\":\"global\"}";
    static final String START_USAGE = USAGE.replace("\"output_tokens\":87", "\"output_tokens\":1");
    static final String DELTA_USAGE = "{\"input_tokens\":42,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,"
            + "\"output_tokens\":87}";

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        delayMs = args.length > 1 ? Long.parseLong(args[1]) : 0;
        gapMs = args.length > 2 ? Long.parseLong(args[2]) : 0;
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 4096);
        // Without delays each exchange is answered on the server's own dispatcher thread: handing it
        // to another thread cost a wake-up per call, which on the benchmark's shared load CPU made the
        // fake the largest user of that core. Delays need a thread per exchange so that calls overlap.
        server.setExecutor(delayMs == 0 && gapMs == 0 ? null : Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/messages", FakeAnthropic::messages);
        server.createContext("/stats", ex -> {
            byte[] b = ("{\"served\":" + SERVED.get() + "}").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("content-type", "application/json");
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        });
        server.start();
        System.out.println("fake anthropic listening on 127.0.0.1:" + port + " delay=" + delayMs + "ms gap=" + gapMs + "ms");
    }

    static void messages(HttpExchange ex) throws IOException {
        try (ex) {
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            if (!"POST".equals(ex.getRequestMethod())) {
                error(ex, 405, "invalid_request_error", "method not allowed");
                return;
            }
            if (ex.getRequestHeaders().getFirst("x-api-key") == null
                    && ex.getRequestHeaders().getFirst("authorization") == null) {
                error(ex, 401, "authentication_error", "x-api-key header is required");
                return;
            }
            String text = new String(body, StandardCharsets.UTF_8);
            String model = field(text, "model", "claude-sonnet-4-5-20250929");
            boolean stream = text.replace(" ", "").contains("\"stream\":true");
            sleep(delayMs);
            long n = SEQ.incrementAndGet();
            var h = ex.getResponseHeaders();
            h.set("request-id", "req_bench" + n);
            h.set("anthropic-organization-id", "00000000-0000-4000-8000-00000000b3c4");
            if (!stream) {
                String json = "{\"id\":\"msg_bench_" + System.nanoTime() + "_" + n + "\",\"type\":\"message\",\"role\":\"assistant\","
                        + "\"model\":\"" + model + "\",\"content\":[{\"type\":\"text\",\"text\":\"" + TEXT + "\"}],"
                        + "\"container\":null,\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"stop_details\":null,"
                        + "\"usage\":" + USAGE + "}";
                byte[] b = json.getBytes(StandardCharsets.UTF_8);
                h.set("content-type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
                SERVED.incrementAndGet();
                return;
            }
            h.set("content-type", "text/event-stream; charset=utf-8");
            h.set("cache-control", "no-cache");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            String id = "msg_bench_" + System.nanoTime() + "_" + n;
            send(out, "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"" + id + "\",\"type\":\"message\","
                    + "\"role\":\"assistant\",\"model\":\"" + model + "\",\"content\":[],\"stop_reason\":null,"
                    + "\"stop_sequence\":null,\"usage\":" + START_USAGE + "}}");
            sleep(gapMs);
            StringBuilder rest = new StringBuilder();
            rest.append(event("content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"));
            rest.append(event("ping", "{\"type\": \"ping\"}"));
            for (String d : DELTAS) {
                rest.append(event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + d + "\"}}"));
                if (gapMs > 0) {
                    send(out, rest);
                    rest.setLength(0);
                    sleep(gapMs);
                }
            }
            rest.append(event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0          }"));
            rest.append(event("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":" + DELTA_USAGE + "}"));
            rest.append(event("message_stop", "{\"type\":\"message_stop\"}"));
            send(out, rest);
            out.close();
            SERVED.incrementAndGet();
        }
    }

    static void error(HttpExchange ex, int status, String type, String message) throws IOException {
        byte[] b = ("{\"type\":\"error\",\"error\":{\"type\":\"" + type + "\",\"message\":\"" + message + "\"},\"request_id\":\"req_bench_err\"}")
                .getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("content-type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    static String event(String name, String data) {
        return "event: " + name + "\ndata: " + data + "\n\n";
    }

    static void send(OutputStream out, String name, String data) throws IOException {
        out.write(event(name, data).getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static void send(OutputStream out, CharSequence events) throws IOException {
        out.write(events.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static String field(String json, String name, String absent) {
        int i = json.indexOf("\"" + name + "\"");
        if (i < 0) return absent;
        int q1 = json.indexOf('"', json.indexOf(':', i) + 1);
        int q2 = q1 < 0 ? -1 : json.indexOf('"', q1 + 1);
        return q2 < 0 ? absent : json.substring(q1 + 1, q2);
    }

    static void sleep(long ms) {
        if (ms > 0) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The text in deltas of wordsPer words each (the first keeps no leading space). */
    static String[] splitWords(String text, int wordsPer) {
        String[] words = text.split(" ");
        java.util.List<String> out = new java.util.ArrayList<>();
        for (int w = 0; w < words.length; w += wordsPer) {
            StringBuilder sb = new StringBuilder();
            for (int i = w; i < Math.min(words.length, w + wordsPer); i++) {
                sb.append(i == 0 ? "" : " ").append(words[i]);
            }
            out.add(sb.toString());
        }
        return out.toArray(String[]::new);
    }
}
