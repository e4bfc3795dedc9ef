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

    public static String newId() {
        return "req_" + randomBase62(24);
    }

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
