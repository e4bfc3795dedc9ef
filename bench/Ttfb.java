import java.io.InputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executors;

/**
 * Streaming first-byte client: CONCURRENCY connections (raw HTTP/1.1 keep-alive sockets), each
 * sending the streaming call of stream.lua in a loop for SECONDS and reading each stream to its
 * final chunk. Per call it records
 *   ttfb     = first response byte at the client - request sent (includes the gateway's hold), and
 *   from_fake = message_start at the client - the moment the fake wrote it (the nanoTime the fake
 *              put in the message id; one machine, one monotonic clock).
 *
 *   java bench/Ttfb.java PORT CONCURRENCY SECONDS API_KEY [PORTKEY_CUSTOM_HOST]
 *
 * Prints "RESULT {...}" with p50/p90/p99 of both in microseconds.
 */
public class Ttfb {

    static final String BODY = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":256,\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in one sentence.\"}]}";

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int conc = Integer.parseInt(args[1]);
        long seconds = Long.parseLong(args[2]);
        String key = args[3];
        String portkey = args.length > 4 ? args[4] : null;
        StringBuilder req = new StringBuilder("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
                + "x-api-key: " + key + "\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n");
        if (portkey != null) {
            req.append("x-portkey-provider: anthropic\r\nx-portkey-custom-host: ").append(portkey).append("\r\n");
        }
        req.append("content-length: ").append(BODY.length()).append("\r\n\r\n").append(BODY);
        byte[] request = req.toString().getBytes(StandardCharsets.UTF_8);
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        List<long[]> all = Collections.synchronizedList(new ArrayList<>());
        int[] failures = new int[1];
        try (var pool = Executors.newFixedThreadPool(conc)) {
            for (int c = 0; c < conc; c++) {
                pool.submit(() -> {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        s.setTcpNoDelay(true);
                        InputStream in = s.getInputStream();
                        byte[] buf = new byte[65536];
                        while (System.nanoTime() < end) {
                            long t0 = System.nanoTime();
                            s.getOutputStream().write(request);
                            StringBuilder seen = new StringBuilder();
                            long first = 0, fromFake = -1;
                            while (true) {
                                int n = in.read(buf);
                                long now = System.nanoTime();
                                if (n < 0) throw new IllegalStateException("connection closed");
                                if (first == 0) first = now;
                                seen.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                                if (fromFake < 0) {
                                    int i = seen.indexOf("msg_bench_");
                                    int j = i < 0 ? -1 : seen.indexOf("_", i + 10);
                                    if (j > 0) fromFake = now - Long.parseLong(seen.substring(i + 10, j));
                                }
                                // chunked (Tollgate, Portkey, the fake) ends with the zero chunk
                                if (seen.indexOf("message_stop") >= 0 && seen.lastIndexOf("\r\n0\r\n\r\n") >= 0) break;
                            }
                            if (!seen.substring(0, 12).equals("HTTP/1.1 200")) {
                                synchronized (failures) { failures[0]++; }
                                continue;
                            }
                            all.add(new long[] {first - t0, fromFake, System.nanoTime() - t0});
                        }
                    } catch (Exception e) {
                        synchronized (failures) { failures[0]++; }
                        e.printStackTrace();
                    }
                    return null;
                });
            }
        }
        long[] ttfb = all.stream().mapToLong(a -> a[0]).sorted().toArray();
        long[] fake = all.stream().mapToLong(a -> a[1]).filter(v -> v >= 0).sorted().toArray();
        long[] total = all.stream().mapToLong(a -> a[2]).sorted().toArray();
        PrintStream o = System.out;
        o.printf("RESULT {\"calls\":%d,\"failures\":%d,\"rps\":%.1f,\"ttfb_p50_us\":%d,\"ttfb_p90_us\":%d,\"ttfb_p99_us\":%d,"
                        + "\"from_fake_p50_us\":%d,\"from_fake_p90_us\":%d,\"from_fake_p99_us\":%d,\"total_p50_us\":%d,\"total_p99_us\":%d}%n",
                ttfb.length, failures[0], ttfb.length / (double) seconds, p(ttfb, 50), p(ttfb, 90), p(ttfb, 99),
                p(fake, 50), p(fake, 90), p(fake, 99), p(total, 50), p(total, 99));
    }

    static long p(long[] sorted, int pct) {
        if (sorted.length == 0) return -1;
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(pct / 100.0 * sorted.length) - 1)] / 1000;
    }
}
