package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/** What the fake's stored-resource endpoints (batches, files, skills) share: ids, answers, errors, multipart. */
abstract class FakeStored {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    static String id(String prefix) {
        StringBuilder sb = new StringBuilder(prefix).append("01");
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < 22; i++) {
            sb.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
        }
        return sb.toString();
    }

    static void json(HttpServerRequest req, int status, JsonNode body) {
        req.response().setStatusCode(status).putHeader("content-type", "application/json")
                .putHeader("request-id", id("req_")).end(body.toString());
    }

    static void error(HttpServerRequest req, int status, String type, String message) {
        ObjectNode err = JSON.createObjectNode().put("type", "error");
        err.putObject("error").put("type", type).put("message", message);
        json(req, status, err);
    }

    /** One part of a multipart/form-data body. */
    record Part(String name, String filename, String contentType, byte[] bytes) {
    }

    /** A small multipart parser (the fake reads whole bodies; tests upload small files). */
    static List<Part> multipart(String contentType, byte[] body) {
        List<Part> parts = new ArrayList<>();
        if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            return parts;
        }
        String boundary = null;
        for (String p : contentType.split(";")) {
            p = p.trim();
            if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
                boundary = p.substring(9).replace("\"", "");
            }
        }
        if (boundary == null) {
            return parts;
        }
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
        int at = indexOf(body, delimiter, 0);
        while (at >= 0) {
            int headersStart = at + delimiter.length;
            if (headersStart + 1 < body.length && body[headersStart] == '-' && body[headersStart + 1] == '-') {
                break;
            }
            headersStart += 2; // CRLF
            int headersEnd = indexOf(body, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), headersStart);
            if (headersEnd < 0) {
                break;
            }
            String headers = new String(body, headersStart, headersEnd - headersStart, StandardCharsets.UTF_8);
            int next = indexOf(body, ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1), headersEnd + 4);
            if (next < 0) {
                break;
            }
            byte[] content = java.util.Arrays.copyOfRange(body, headersEnd + 4, next);
            String name = null;
            String filename = null;
            String type = null;
            for (String h : headers.split("\r\n")) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-disposition:")) {
                    name = param(h, "name");
                    filename = param(h, "filename");
                } else if (lower.startsWith("content-type:")) {
                    type = h.substring(13).trim();
                }
            }
            parts.add(new Part(name, filename, type, content));
            at = next + 2;
        }
        return parts;
    }

    private static String param(String header, String key) {
        for (String p : header.split(";")) {
            p = p.trim();
            if (p.startsWith(key + "=")) {
                String v = p.substring(key.length() + 1);
                return v.startsWith("\"") ? v.substring(1, v.length() - 1) : v;
            }
        }
        return null;
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = Math.max(0, from); i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static Buffer buffer(String s) {
        return Buffer.buffer(s);
    }
}
