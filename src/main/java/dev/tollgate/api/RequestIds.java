package dev.tollgate.api;

import io.vertx.ext.web.RoutingContext;

import java.security.SecureRandom;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;

/** Tollgate's own request ids ("req_" + 24 base62, time first), attached to every request and response. */
public final class RequestIds {

    public static final String CONTEXT_KEY = "tollgate.request-id";
    public static final String HEADER = "request-id";
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();
    /** 62^8 milliseconds: enough until the year 8888. */
    private static final int TIME_DIGITS = 8;
    private static final int RANDOM_DIGITS = 16;

    private RequestIds() {
    }

    /**
     * "req_", the current time in milliseconds as 8 base62 digits, then 16 random ones. Every call's
     * usage record is indexed by its request id (unique), and ids that start with the time go in at
     * one end of that index instead of at random pages all over it: a random id dirties a different
     * index page per call, which past shared_buffers means a read and a write per insert.
     */
    public static String newId() {
        return newId(System.currentTimeMillis(), ThreadLocalRandom.current());
    }

    /**
     * Ids only need to be unique, not unguessable: the fast thread-local generator, not SecureRandom.
     * 16 random base62 digits (95 bits) per millisecond keep ids unique across instances.
     */
    static String newId(long epochMillis, Random random) {
        char[] time = new char[TIME_DIGITS];
        long rest = epochMillis;
        for (int i = TIME_DIGITS - 1; i >= 0; i--) {
            time[i] = BASE62[(int) (rest % BASE62.length)];
            rest /= BASE62.length;
        }
        return "req_" + new String(time) + base62(random, RANDOM_DIGITS);
    }

    /** Unguessable base62 (SecureRandom), for secrets such as API keys. */
    public static String randomBase62(int length) {
        return base62(RANDOM, length);
    }

    private static String base62(Random random, int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) {
            out[i] = BASE62[random.nextInt(BASE62.length)];
        }
        return new String(out);
    }

    public static String of(RoutingContext ctx) {
        String id = ctx.get(CONTEXT_KEY);
        return id != null ? id : newId();
    }
}
