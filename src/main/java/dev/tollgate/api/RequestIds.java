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
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        char[] out = new char[28];
        "req_".getChars(0, 4, out, 0);
        for (int i = 4; i < out.length; i++) {
            out[i] = BASE62[random.nextInt(BASE62.length)];
        }
        return new String(out);
    }

    /** Unguessable base62 (SecureRandom), for secrets such as API keys. */
    public static String randomBase62(int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) {
            out[i] = BASE62[RANDOM.nextInt(BASE62.length)];
        }
        return new String(out);
    }

    public static String of(RoutingContext ctx) {
        String id = ctx.get(CONTEXT_KEY);
        return id != null ? id : newId();
    }
}
