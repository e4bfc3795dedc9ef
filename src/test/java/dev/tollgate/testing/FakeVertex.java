package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Google Vertex AI's Claude endpoints as Tollgate sees them (digest §2), and Google's OAuth2 token
 * endpoint. {@code POST /token} takes the service account's JWT-bearer grant, checks its RS256
 * signature with the public half of a key generated here ({@link #serviceAccountJson()} holds the
 * private half), its issuer, audience and scope, and issues an access token; the model endpoints
 * ({@code /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict},
 * {@code :streamRawPredict}, {@code count-tokens:rawPredict}) accept only a token it issued. The
 * call is played by the {@link FakeUpstream} behind it; its answer comes back as it is (JSON, SSE),
 * but errors of Google's own (429 RESOURCE_EXHAUSTED in an array, 503 UNAVAILABLE, 401/403) in
 * Google's shape.
 */
public final class FakeVertex extends CloudFake {

    /** The audience Google's library puts in every grant, whichever endpoint it posts it to. */
    static final String GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";
    public static final String PROJECT = "tollgate-test-project";
    public static final String CLIENT_EMAIL = "tollgate-relay@tollgate-test-project.iam.gserviceaccount.com";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PATH = Pattern.compile(
            "/v1/projects/([^/]+)/locations/([^/]+)/publishers/anthropic/models/([^/:]+):(rawPredict|streamRawPredict)");

    private final KeyPair key;
    private final String keyId = "k" + Long.toHexString(System.nanoTime());
    private final Set<String> issued = ConcurrentHashMap.newKeySet();
    private final AtomicInteger tokenRequests = new AtomicInteger();
    private final List<String> models = new ArrayList<>();
    private volatile long expiresInSeconds = 3600;

    private FakeVertex() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            key = generator.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static FakeVertex start() {
        return new FakeVertex();
    }

    public String tokenUrl() {
        return baseUrl() + "/token";
    }

    /** A service account key file whose private key this fake's token endpoint trusts. */
    public String serviceAccountJson() {
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(key.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        return JSON.createObjectNode().put("type", "service_account").put("project_id", PROJECT)
                .put("private_key_id", keyId).put("private_key", pem).put("client_email", CLIENT_EMAIL)
                .put("client_id", "1234567890").put("token_uri", tokenUrl()).toString();
    }

    /** Access tokens issued so far. */
    public int tokenRequests() {
        return tokenRequests.get();
    }

    /** How long the tokens issued from now on last. */
    public void tokenLifetime(long seconds) {
        expiresInSeconds = seconds;
    }

    /** Model ids of the calls received (from their URLs), in order. */
    public synchronized List<String> models() {
        return List.copyOf(models);
    }

    @Override
    public void reset() {
        super.reset();
        synchronized (this) {
            models.clear();
        }
    }

    @Override
    protected void handle(HttpServerRequest req, byte[] body) {
        HttpServerResponse resp = req.response();
        if (req.path().equals("/token")) {
            token(resp, new String(body, StandardCharsets.UTF_8));
            return;
        }
        String authorization = req.getHeader("authorization");
        if (authorization == null || !authorization.startsWith("Bearer ") || !issued.contains(authorization.substring(7))) {
            googleError(resp, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", false);
            return;
        }
        Matcher m = PATH.matcher(req.path());
        if (!m.matches() || !m.group(1).equals(PROJECT)) {
            googleError(resp, 404, "NOT_FOUND", "Publisher model not found.", false);
            return;
        }
        String model = URLDecoder.decode(m.group(3), StandardCharsets.UTF_8);
        synchronized (this) {
            models.add(model);
        }
        try {
            ObjectNode request = (ObjectNode) JSON.readTree(body);
            if (!"vertex-2023-10-16".equals(request.path("anthropic_version").asText())) {
                googleError(resp, 400, "INVALID_ARGUMENT", "anthropic_version: invalid", false);
                return;
            }
            request.remove("anthropic_version");
            List<String> betas = req.headers().getAll("anthropic-beta");
            if (model.equals("count-tokens")) {
                if (!request.path("model").isTextual()) {
                    anthropicError(resp, 400, "invalid_request_error", "model: Field required");
                    return;
                }
                request.put("model", request.get("model").asText().replace('@', '-')); // a Vertex model id, as callers send it
                forward(req, resp, "/v1/messages/count_tokens", request, betas, false);
                return;
            }
            boolean stream = m.group(4).equals("streamRawPredict");
            if (request.has("model")) {
                anthropicError(resp, 400, "invalid_request_error", "model: Extra inputs are not permitted");
                return;
            }
            if (stream != request.path("stream").asBoolean(false)) {
                anthropicError(resp, 400, "invalid_request_error", "stream must match the method");
                return;
            }
            ObjectNode anthropicBody = JSON.createObjectNode().put("model", model.replace('@', '-'));
            anthropicBody.setAll(request);
            forward(req, resp, "/v1/messages", anthropicBody, betas, stream);
        } catch (Exception e) {
            googleError(resp, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.", false);
        }
    }

    private void forward(HttpServerRequest req, HttpServerResponse resp, String path, ObjectNode body, List<String> betas,
                         boolean stream) throws Exception {
        toAnthropic(path, JSON.writeValueAsBytes(body), betas).onSuccess(answer -> {
            int status = answer.statusCode();
            if (status == 429) {
                answer.body().onSuccess(b -> googleError(resp, 429, "RESOURCE_EXHAUSTED", "Quota exceeded for"
                        + " aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model:"
                        + " anthropic-claude. Please submit a quota increase request.", stream));
                return;
            }
            if (status == 529 || status == 503) {
                answer.body().onSuccess(b -> googleError(resp, 503, "UNAVAILABLE", "The service is currently"
                        + " unavailable.", stream));
                return;
            }
            resp.setStatusCode(status);
            String type = answer.getHeader("content-type");
            if (type != null) {
                resp.putHeader("content-type", type);
            }
            if (status == 200 && stream) {
                resp.setChunked(true);
                relay(answer, resp, chunk -> {
                    if (!resp.closed()) {
                        resp.write(chunk);
                    }
                });
            } else {
                answer.body().onSuccess(resp::end);
            }
        }).onFailure(t -> resp.reset());
    }

    private void token(HttpServerResponse resp, String form) {
        Map<String, String> params = new java.util.HashMap<>();
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                params.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        if (!"urn:ietf:params:oauth:grant-type:jwt-bearer".equals(params.get("grant_type")) || !validGrant(params.get("assertion"))) {
            System.err.println("FakeVertex refused a grant: " + describe(params.get("assertion")));
            resp.setStatusCode(400).putHeader("content-type", "application/json")
                    .end("{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
            return;
        }
        tokenRequests.incrementAndGet();
        String token = "ya29.fake-" + java.util.UUID.randomUUID();
        issued.add(token);
        resp.putHeader("content-type", "application/json").end(JSON.createObjectNode().put("access_token", token)
                .put("expires_in", expiresInSeconds).put("token_type", "Bearer").toString());
    }

    /** The JWT grant: signed RS256 by the service account's key, for this token endpoint, scope cloud-platform. */
    private boolean validGrant(String jwt) {
        if (jwt == null) {
            return false;
        }
        String[] parts = jwt.split("\\.");
        if (parts.length != 3) {
            return false;
        }
        try {
            Signature rs256 = Signature.getInstance("SHA256withRSA");
            rs256.initVerify(key.getPublic());
            rs256.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            if (!rs256.verify(Base64.getUrlDecoder().decode(parts[2]))) {
                return false;
            }
            JsonNode header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
            JsonNode claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
            long now = System.currentTimeMillis() / 1000;
            return "RS256".equals(header.path("alg").asText()) && keyId.equals(header.path("kid").asText())
                    && CLIENT_EMAIL.equals(claims.path("iss").asText())
                    && List.of(tokenUrl(), GOOGLE_TOKEN_URI).contains(claims.path("aud").asText())
                    && claims.path("scope").asText().contains("https://www.googleapis.com/auth/cloud-platform")
                    && claims.path("exp").asLong() > now;
        } catch (Exception e) {
            return false;
        }
    }

    private static String describe(String jwt) {
        try {
            String[] parts = jwt.split("\\.");
            return new String(Base64.getUrlDecoder().decode(parts[0]), StandardCharsets.UTF_8) + " "
                    + new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        } catch (Exception e) {
            return String.valueOf(jwt);
        }
    }

    private static void googleError(HttpServerResponse resp, int status, String googleStatus, String message, boolean array) {
        ObjectNode error = JSON.createObjectNode();
        error.putObject("error").put("code", status).put("message", message).put("status", googleStatus);
        resp.setStatusCode(status).putHeader("content-type", "application/json; charset=UTF-8")
                .end(array ? "[" + error + "]" : error.toString());
    }

    private static void anthropicError(HttpServerResponse resp, int status, String type, String message) {
        ObjectNode error = JSON.createObjectNode().put("type", "error");
        error.putObject("error").put("type", type).put("message", message);
        error.put("request_id", "req_vrtx_011CVVmAGpANwSni83J9vMri");
        resp.setStatusCode(status).putHeader("content-type", "application/json").end(Buffer.buffer(error.toString()));
    }
}
