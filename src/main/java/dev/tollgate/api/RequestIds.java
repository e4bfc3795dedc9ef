package dev.tollgate.api;

import io.vertx.ext.web.RoutingContext;

import java.security.SecureRandom;

/** Tollgate's own request ids ("req_" + 24 base62), attached to every request and response. */
public final class RequestIds {

    public static final String CONTEXT_KEY = "tollgate.request-id";
    public static final String HEADER = "request-id";
    private static final char[] BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private RequestIds() {
    }

    /** Ids only need to be unique, not unguessable: the fast thread-local generator, not SecureRandom. */
    public static String newId() {
        return "req_" + base62(java.util.concurrent.ThreadLocalRandom.current(), 24);
    }

    /** Unguessable base62 (SecureRandom), for secrets such as API keys. */
    public static String randomBase62(int length) {
        return base62(RANDOM, length);
    }

    private static String base62(java.util.Random random, int length) {
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
