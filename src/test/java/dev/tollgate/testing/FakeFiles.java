package dev.tollgate.testing;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fake upstream's Files API (digest §6.4) and Skills API. Files: multipart upload (part
 * {@code file}), list (after_id / before_id / limit, newest first, with next_page too), metadata,
 * content (400 "File is not downloadable" for uploaded files unless {@link #makeDownloadable}),
 * delete. An uploaded file is readable by Messages calls as {@code ceil(size / 4)} input tokens.
 * Skills: create (multipart, {@code display_title}), list (Anthropic's pre-built ones and every
 * custom one), get, delete.
 */
public final class FakeFiles extends FakeStored {

    private record StoredFile(ObjectNode object, byte[] bytes) {
    }

    private final FakeUpstream fake;
    private final Map<String, StoredFile> files = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Map<String, ObjectNode> skills = Collections.synchronizedMap(new LinkedHashMap<>());
    private final AtomicInteger uploads = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong bytesReceived = new java.util.concurrent.atomic.AtomicLong();
    private final AtomicInteger uploadsStarted = new AtomicInteger();
    private final AtomicInteger uploadsAborted = new AtomicInteger();
    /** An upload's bytes kept for parsing; beyond this one is only counted (and answered 413, as it is too large). */
    private static final int KEEP_BYTES = 16 * 1024 * 1024;

    FakeFiles(FakeUpstream fake) {
        this.fake = fake;
    }

    public int uploads() {
        return uploads.get();
    }

    /** Uploads whose request began arriving (stored or not). */
    public int uploadsStarted() {
        return uploadsStarted.get();
    }

    /** Uploads whose request was cut off before its end (the sender reset or closed it). */
    public int uploadsAborted() {
        return uploadsAborted.get();
    }

    /** Upload bytes received so far, counted as they arrive. */
    public long bytesReceived() {
        return bytesReceived.get();
    }

    public boolean exists(String fileId) {
        return files.containsKey(fileId);
    }

    public byte[] content(String fileId) {
        return files.get(fileId).bytes();
    }

    public void makeDownloadable(String fileId) {
        files.get(fileId).object().put("downloadable", true);
    }

    /** A file code execution wrote during a call: downloadable, as only such files are (digest §6.4). */
    void generated(String fileId, String filename, byte[] bytes) {
        ObjectNode o = JSON.createObjectNode().put("id", fileId).put("type", "file").put("filename", filename)
                .put("mime_type", "text/csv").put("size_bytes", bytes.length).put("created_at", Instant.now().toString())
                .put("downloadable", true);
        files.put(fileId, new StoredFile(o, bytes));
    }

    void reset() {
        files.clear();
        skills.clear();
        uploads.set(0);
        bytesReceived.set(0);
        uploadsStarted.set(0);
        uploadsAborted.set(0);
    }

    /**
     * {@code POST /v1/files} is read as it arrives rather than buffered whole, so a test can stream a
     * huge upload through the gateway and see it arrive, and see it cut off; {@code then} gets the
     * kept bytes at the request's end, as any other request's.
     */
    boolean streamUpload(HttpServerRequest req, java.util.function.BiConsumer<HttpServerRequest, Buffer> then) {
        if (!req.method().name().equals("POST") || !req.path().equals("/v1/files")) {
            return false;
        }
        uploadsStarted.incrementAndGet();
        Buffer kept = Buffer.buffer();
        boolean[] state = {false, false}; // ended, overflowed
        req.handler(chunk -> {
            bytesReceived.addAndGet(chunk.length());
            if (kept.length() + chunk.length() <= KEEP_BYTES) {
                kept.appendBuffer(chunk);
            } else {
                state[1] = true;
            }
        });
        req.exceptionHandler(t -> {
            if (!state[0]) {
                state[0] = true;
                uploadsAborted.incrementAndGet();
            }
        });
        req.endHandler(v -> {
            state[0] = true;
            if (state[1]) {
                error(req, 413, "request_too_large", "Request exceeds the maximum allowed number of bytes");
            } else {
                then.accept(req, kept);
            }
        });
        return true;
    }

    boolean handle(HttpServerRequest req, String path, byte[] body, boolean authorized) {
        boolean isFiles = path.equals("/v1/files") || path.startsWith("/v1/files/");
        boolean isSkills = path.equals("/v1/skills") || path.startsWith("/v1/skills/");
        if (!isFiles && !isSkills) {
            return false;
        }
        if (!authorized) {
            error(req, 401, "authentication_error", "invalid x-api-key");
            return true;
        }
        String method = req.method().name();
        if (isSkills) {
            skills(req, path, body, method);
            return true;
        }
        if (path.equals("/v1/files")) {
            if (method.equals("POST")) {
                upload(req, body);
            } else {
                list(req);
            }
            return true;
        }
        String[] segments = path.substring("/v1/files/".length()).split("/");
        StoredFile f = files.get(segments[0]);
        if (f == null) {
            error(req, 404, "not_found_error", "File not found: " + segments[0]);
        } else if (segments.length == 1 && method.equals("GET")) {
            json(req, 200, f.object());
        } else if (segments.length == 1 && method.equals("DELETE")) {
            files.remove(segments[0]);
            json(req, 200, JSON.createObjectNode().put("id", segments[0]).put("type", "file_deleted"));
        } else if (segments.length == 2 && segments[1].equals("content") && method.equals("GET")) {
            if (!f.object().path("downloadable").asBoolean()) {
                error(req, 400, "invalid_request_error", "File is not downloadable");
            } else {
                req.response().setStatusCode(200).putHeader("content-type", f.object().path("mime_type").asText())
                        .end(Buffer.buffer(f.bytes()));
            }
        } else {
            error(req, 404, "not_found_error", "Not Found");
        }
        return true;
    }

    private void upload(HttpServerRequest req, byte[] body) {
        Part file = multipart(req.getHeader("content-type"), body).stream()
                .filter(p -> "file".equals(p.name())).findFirst().orElse(null);
        if (file == null) {
            error(req, 400, "invalid_request_error", "file: Field required");
            return;
        }
        ObjectNode o = JSON.createObjectNode();
        String id = id("file_");
        String name = file.filename() == null || file.filename().isEmpty() ? "unnamed" : file.filename();
        o.put("id", id).put("type", "file").put("filename", name.substring(name.lastIndexOf('/') + 1))
                .put("mime_type", file.contentType() == null ? "application/octet-stream" : file.contentType())
                .put("size_bytes", file.bytes().length).put("created_at", Instant.now().toString())
                .put("downloadable", false);
        files.put(id, new StoredFile(o, file.bytes()));
        fake.hostDocument(id, Math.max(1, (file.bytes().length + 3) / 4));
        uploads.incrementAndGet();
        json(req, 200, o);
    }

    private void list(HttpServerRequest req) {
        int limit = req.getParam("limit") == null ? 20 : Integer.parseInt(req.getParam("limit"));
        List<StoredFile> all;
        synchronized (files) {
            all = new ArrayList<>(files.values());
        }
        Collections.reverse(all);
        ObjectNode page = JSON.createObjectNode();
        ArrayNode data = page.putArray("data");
        all.stream().limit(limit).forEach(f -> data.add(f.object()));
        page.put("has_more", all.size() > limit);
        page.put("first_id", data.isEmpty() ? null : data.get(0).path("id").asText());
        page.put("last_id", data.isEmpty() ? null : data.get(data.size() - 1).path("id").asText());
        page.putNull("next_page");
        json(req, 200, page);
    }

    private void skills(HttpServerRequest req, String path, byte[] body, String method) {
        if (path.equals("/v1/skills")) {
            if (method.equals("POST")) {
                List<Part> parts = multipart(req.getHeader("content-type"), body);
                String title = parts.stream().filter(p -> "display_title".equals(p.name())).findFirst()
                        .map(p -> new String(p.bytes(), java.nio.charset.StandardCharsets.UTF_8)).orElse(null);
                String id = id("skill_");
                String now = Instant.now().toString();
                ObjectNode o = JSON.createObjectNode().put("id", id).put("type", "skill").put("display_title", title)
                        .put("source", "custom").put("latest_version", "1759178010641129").put("created_at", now)
                        .put("updated_at", now);
                skills.put(id, o);
                json(req, 200, o);
            } else {
                ObjectNode page = JSON.createObjectNode();
                ArrayNode data = page.putArray("data");
                for (String pre : List.of("pptx", "xlsx")) {
                    data.addObject().put("id", pre).put("type", "skill").put("display_title", pre).put("source", "anthropic")
                            .put("latest_version", "20251013").put("created_at", "2025-10-13T00:00:00Z")
                            .put("updated_at", "2025-10-13T00:00:00Z");
                }
                synchronized (skills) {
                    skills.values().forEach(data::add);
                }
                page.put("has_more", false).putNull("next_page");
                json(req, 200, page);
            }
            return;
        }
        String id = path.substring("/v1/skills/".length()).split("/")[0];
        ObjectNode s = skills.get(id);
        if (s == null && !id.equals("pptx") && !id.equals("xlsx")) {
            error(req, 404, "not_found_error", "Skill not found: " + id);
        } else if (method.equals("DELETE")) {
            skills.remove(id);
            json(req, 200, JSON.createObjectNode().put("id", id).put("type", "skill_deleted"));
        } else {
            json(req, 200, s != null ? s : JSON.createObjectNode().put("id", id).put("type", "skill").put("source", "anthropic"));
        }
    }
}
