package dev.tollgate.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tollgate.upstream.SseEventSplitter;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Amazon Bedrock's bedrock-runtime as Tollgate sees it (digest §1): InvokeModel,
 * InvokeModelWithResponseStream and CountTokens at {@code /model/{modelId}/...}. Every request's
 * SigV4 signature is recomputed with AWS's own signer from the known test secret (or its bearer API
 * key checked); a mismatch is AWS's 403 InvalidSignatureException. A body that still has
 * {@code model} or {@code stream} is AWS's real 400. The call is then played by the
 * {@link FakeUpstream} behind it, and its answer given as Bedrock gives it: the JSON message as it
 * is (id {@code msg_bdrk_...}), a stream as {@code application/vnd.amazon.eventstream} frames built
 * with AWS's event-stream library (one chunk per Anthropic event, base64 and padded, message_stop
 * with its invocation metrics), a mid-stream error as an exception frame, an error as AWS's
 * rest-json error with {@code x-amzn-ErrorType}.
 */
public final class FakeBedrock extends CloudFake {

    public static final String ACCESS_KEY_ID = "AKIATOLLGATETEST0001";
    public static final String SECRET_ACCESS_KEY = "tollgate/test+Secret0123456789abcdefghijklmn";
    public static final String SESSION_TOKEN = "FwoGZXIvYXdzEBYaDtollgatesessiontoken";
    public static final String API_KEY = "ABSKQmVkcm9ja0FQSUtleS10b2xsZ2F0ZS10ZXN0";
    public static final String REGION = "us-east-1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PATH = Pattern.compile("/model/([^/]+)/(invoke|invoke-with-response-stream|count-tokens)");
    private static final Pattern AUTH = Pattern.compile(
            "AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]+)");
    private static final String PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

    /** Application inference profiles (their ARN) and the model each routes to. */
    public static final Map<String, String> APPLICATION_PROFILES = new java.util.concurrent.ConcurrentHashMap<>();

    private final AtomicInteger verifiedSignatures = new AtomicInteger();
    private final List<String> modelIds = new ArrayList<>();

    public static FakeBedrock start() {
        return new FakeBedrock();
    }

    /** Requests whose SigV4 signature was recomputed and matched. */
    public int verifiedSignatures() {
        return verifiedSignatures.get();
    }

    /** The model ids of the calls received (URL-decoded), in order. */
    public synchronized List<String> modelIds() {
        return List.copyOf(modelIds);
    }

    @Override
    public void reset() {
        super.reset();
        verifiedSignatures.set(0);
        synchronized (this) {
            modelIds.clear();
        }
    }

    @Override
    protected void handle(HttpServerRequest req, byte[] body) {
        HttpServerResponse resp = req.response();
        resp.putHeader("x-amzn-RequestId", UUID.randomUUID().toString());
        String authError = authenticate(req, body);
        if (authError != null) {
            awsError(resp, 403, authError.startsWith("The security token") ? "UnrecognizedClientException"
                    : "InvalidSignatureException", authError);
            return;
        }
        Matcher m = PATH.matcher(req.path());
        if (!m.matches()) {
            awsError(resp, 404, "UnknownOperationException", "Unknown operation");
            return;
        }
        String modelId = URLDecoder.decode(m.group(1), StandardCharsets.UTF_8);
        synchronized (this) {
            modelIds.add(modelId);
        }
        String anthropicModel = anthropicModel(modelId);
        if (anthropicModel == null) {
            awsError(resp, 400, "ValidationException", "The provided model identifier is invalid.");
            return;
        }
        try {
            if (m.group(2).equals("count-tokens")) {
                countTokens(resp, body, anthropicModel);
            } else {
                invoke(req, resp, body, anthropicModel, m.group(2).equals("invoke-with-response-stream"));
            }
        } catch (Exception e) {
            awsError(resp, 400, "ValidationException", "Malformed input request, please reformat your input and try again.");
        }
    }

    /** null when the request carries the right signature (or API key); else AWS's message. */
    private String authenticate(HttpServerRequest req, byte[] body) {
        String authorization = req.getHeader("authorization");
        if (authorization == null) {
            return "Missing Authentication Token";
        }
        if (authorization.startsWith("Bearer ")) {
            return authorization.substring(7).equals(API_KEY) ? null
                    : "The security token included in the request is invalid.";
        }
        Matcher a = AUTH.matcher(authorization);
        if (!a.matches()) {
            return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.";
        }
        if (!a.group(1).equals(ACCESS_KEY_ID)) {
            return "The security token included in the request is invalid.";
        }
        if (!a.group(3).equals(REGION) || !a.group(4).equals("bedrock")) {
            return "Credential should be scoped to a valid region and service bedrock.";
        }
        String token = req.getHeader("x-amz-security-token");
        AwsCredentialsIdentity identity = token == null ? AwsCredentialsIdentity.create(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
                : AwsSessionCredentialsIdentity.create(ACCESS_KEY_ID, SECRET_ACCESS_KEY, token);
        if (token != null && !token.equals(SESSION_TOKEN)) {
            return "The security token included in the request is invalid.";
        }
        // The host as the request names it (as AWS reads it), not as this server knows itself.
        io.vertx.core.net.HostAndPort authority = req.authority();
        if (authority == null) {
            return "Missing Host header";
        }
        SdkHttpRequest.Builder unsigned = SdkHttpRequest.builder().method(SdkHttpMethod.POST).protocol("http")
                .host(authority.host()).port(authority.port() > 0 ? authority.port() : 80).encodedPath(req.path());
        Set<String> regenerated = Set.of("host", "x-amz-date", "x-amz-security-token", "authorization");
        for (String name : a.group(5).split(";")) {
            if (!regenerated.contains(name) && req.getHeader(name) != null) {
                unsigned.putHeader(name, req.getHeader(name));
            }
        }
        String date = req.getHeader("x-amz-date");
        if (date == null) {
            return "Missing x-amz-date";
        }
        Clock clock = Clock.fixed(LocalDateTime.parse(date, AMZ_DATE).toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
        String expected = AwsV4HttpSigner.create().sign(r -> r.identity(identity).request(unsigned.build())
                        .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "bedrock")
                        .putProperty(AwsV4HttpSigner.REGION_NAME, REGION)
                        .putProperty(HttpSigner.SIGNING_CLOCK, clock))
                .request().firstMatchingHeader("authorization").orElse("");
        if (!expected.equals(authorization)) {
            return "The request signature we calculated does not match the signature you provided. Check your AWS"
                    + " Secret Access Key and signing method.";
        }
        verifiedSignatures.incrementAndGet();
        return null;
    }

    /** The Anthropic id of a Bedrock id (any profile prefix, the anthropic. prefix and the version suffix removed). */
    static String anthropicModel(String modelId) {
        if (modelId.startsWith("arn:aws:bedrock:")) {
            String profile = APPLICATION_PROFILES.get(modelId);
            if (profile != null) {
                return profile;
            }
            modelId = modelId.substring(modelId.lastIndexOf('/') + 1);
        }
        Matcher m = Pattern.compile("(?:[a-z-]+\\.)?anthropic\\.(claude-[a-z0-9-]+?)(?:-v\\d+(?::\\d+)?)?").matcher(modelId);
        return m.matches() ? m.group(1) : modelId.startsWith("claude-") ? modelId : null;
    }

    /** The InvokeModel body checked as Bedrock checks it; null if accepted, else AWS's message. */
    private static String invalid(JsonNode body) {
        List<String> problems = new ArrayList<>();
        if (!body.has("messages")) {
            problems.add("#: subject must not be valid against schema {\"required\":[\"messages\"]}");
        }
        for (String extra : List.of("stream", "model")) {
            if (body.has(extra)) {
                problems.add("#: extraneous key [" + extra + "] is not permitted");
            }
        }
        if (!problems.isEmpty()) {
            return "Malformed input request: " + String.join("", problems) + ", please reformat your input and try again.";
        }
        if (!"bedrock-2023-05-31".equals(body.path("anthropic_version").asText())) {
            return "Invalid API version: " + body.path("anthropic_version").asText();
        }
        return null;
    }

    private void invoke(HttpServerRequest req, HttpServerResponse resp, byte[] bytes, String model, boolean stream)
            throws Exception {
        ObjectNode body = (ObjectNode) JSON.readTree(bytes);
        String problem = invalid(body);
        if (problem != null) {
            awsError(resp, 400, "ValidationException", problem);
            return;
        }
        List<String> betas = new ArrayList<>();
        body.path("anthropic_beta").forEach(b -> betas.add(b.asText()));
        body.remove(List.of("anthropic_version", "anthropic_beta"));
        ObjectNode anthropicBody = JSON.createObjectNode().put("model", model);
        if (stream) {
            anthropicBody.put("stream", true);
        }
        anthropicBody.setAll(body);
        req.pause();
        toAnthropic("/v1/messages", JSON.writeValueAsBytes(anthropicBody), betas).onSuccess(answer -> {
            if (answer.statusCode() != 200) {
                answer.body().onSuccess(b -> anthropicError(resp, answer.statusCode(), b));
                return;
            }
            if (!stream) {
                answer.body().onSuccess(b -> {
                    try {
                        ObjectNode message = (ObjectNode) JSON.readTree(b.getBytes());
                        message.put("id", message.path("id").asText().replace("msg_", "msg_bdrk_"));
                        JsonNode usage = message.path("usage");
                        resp.putHeader("content-type", "application/json")
                                .putHeader("X-Amzn-Bedrock-Input-Token-Count", usage.path("input_tokens").asText("0"))
                                .putHeader("X-Amzn-Bedrock-Output-Token-Count", usage.path("output_tokens").asText("0"))
                                .putHeader("X-Amzn-Bedrock-Invocation-Latency", "123")
                                .end(Buffer.buffer(JSON.writeValueAsBytes(message)));
                    } catch (Exception e) {
                        resp.setStatusCode(500).end();
                    }
                });
                return;
            }
            resp.setChunked(true).putHeader("content-type", "application/vnd.amazon.eventstream")
                    .putHeader("X-Amzn-Bedrock-Content-Type", "application/json");
            long[] tokens = new long[2];
            SseEventSplitter events = new SseEventSplitter((name, data) -> {
                if (data == null) {
                    return;
                }
                if (!resp.closed()) {
                    resp.write(Buffer.buffer(frame(name, data, tokens)));
                }
            });
            relay(answer, resp, chunk -> events.feed(chunk.getBytes(), 0, chunk.length()));
        }).onFailure(t -> resp.reset());
    }

    /** One Anthropic event as Bedrock frames it: a chunk, or an exception frame for an error event. */
    private static byte[] frame(String name, String data, long[] tokens) {
        Map<String, HeaderValue> headers = new LinkedHashMap<>();
        byte[] payload;
        try {
            JsonNode event = JSON.readTree(data);
            if ("error".equals(name) || "error".equals(event.path("type").asText())) {
                String type = event.path("error").path("type").asText();
                headers.put(":exception-type", HeaderValue.fromString(switch (type) {
                    case "overloaded_error" -> "serviceUnavailableException";
                    case "rate_limit_error" -> "throttlingException";
                    default -> "modelStreamErrorException";
                }));
                headers.put(":content-type", HeaderValue.fromString("application/json"));
                headers.put(":message-type", HeaderValue.fromString("exception"));
                payload = JSON.writeValueAsBytes(JSON.createObjectNode().put("message", event.path("error")
                        .path("message").asText()).put("originalStatusCode", 500));
                return toBytes(new Message(headers, payload));
            }
            String type = event.path("type").asText();
            if (type.equals("message_start")) {
                tokens[0] = event.path("message").path("usage").path("input_tokens").asLong();
            } else if (type.equals("message_delta")) {
                tokens[1] = event.path("usage").path("output_tokens").asLong();
            } else if (type.equals("message_stop")) {
                ObjectNode metrics = ((ObjectNode) event).putObject("amazon-bedrock-invocationMetrics");
                metrics.put("inputTokenCount", tokens[0]).put("outputTokenCount", tokens[1])
                        .put("invocationLatency", 453).put("firstByteLatency", 296);
                data = JSON.writeValueAsString(event);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        headers.put(":event-type", HeaderValue.fromString("chunk"));
        headers.put(":content-type", HeaderValue.fromString("application/json"));
        headers.put(":message-type", HeaderValue.fromString("event"));
        String padding = PADDING.substring(0, 1 + Math.floorMod(data.hashCode(), PADDING.length() - 1));
        payload = ("{\"bytes\":\"" + Base64.getEncoder().encodeToString(data.getBytes(StandardCharsets.UTF_8))
                + "\",\"p\":\"" + padding + "\"}").getBytes(StandardCharsets.UTF_8);
        return toBytes(new Message(headers, payload));
    }

    private static byte[] toBytes(Message message) {
        ByteBuffer buffer = message.toByteBuffer();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    private void countTokens(HttpServerResponse resp, byte[] bytes, String model) throws Exception {
        JsonNode request = JSON.readTree(bytes);
        String encoded = request.path("input").path("invokeModel").path("body").asText(null);
        if (encoded == null) {
            awsError(resp, 400, "ValidationException", "input.invokeModel.body is required");
            return;
        }
        ObjectNode body = (ObjectNode) JSON.readTree(Base64.getDecoder().decode(encoded));
        String problem = invalid(body);
        if (problem != null) {
            awsError(resp, 400, "ValidationException", problem);
            return;
        }
        if (!body.has("max_tokens")) {
            awsError(resp, 400, "ValidationException", "Malformed input request: #: required key [max_tokens] not found");
            return;
        }
        body.remove(List.of("anthropic_version", "anthropic_beta", "max_tokens"));
        ObjectNode count = JSON.createObjectNode().put("model", model);
        count.setAll(body);
        toAnthropic("/v1/messages/count_tokens", JSON.writeValueAsBytes(count), List.of())
                .compose(answer -> answer.body().map(b -> {
                    if (answer.statusCode() != 200) {
                        anthropicError(resp, answer.statusCode(), b);
                    } else {
                        try {
                            long n = JSON.readTree(b.getBytes()).path("input_tokens").asLong();
                            resp.putHeader("content-type", "application/json").end("{\"inputTokens\":" + n + "}");
                        } catch (Exception e) {
                            resp.setStatusCode(500).end();
                        }
                    }
                    return b;
                }));
    }

    /** An error of the model behind, as Bedrock words it. */
    private static void anthropicError(HttpServerResponse resp, int status, Buffer body) {
        String message;
        try {
            message = JSON.readTree(body.getBytes()).path("error").path("message").asText("error");
        } catch (Exception e) {
            message = "error";
        }
        switch (status) {
            case 429 -> awsError(resp, 429, "ThrottlingException", "Too many requests, please wait before trying again.");
            case 529, 503 -> awsError(resp, 503, "ServiceUnavailableException", "Bedrock is unable to process your"
                    + " request.");
            case 401, 403 -> awsError(resp, 403, "AccessDeniedException", "You don't have access to the model with"
                    + " the specified model ID.");
            case 404 -> awsError(resp, 404, "ResourceNotFoundException", "Model not found");
            case 400, 413 -> awsError(resp, 400, "ValidationException", message);
            default -> awsError(resp, 500, "InternalServerException", "Internal server error");
        }
    }

    private static void awsError(HttpServerResponse resp, int status, String type, String message) {
        ObjectNode body = JSON.createObjectNode().put("message", message);
        resp.setStatusCode(status).putHeader("content-type", "application/json")
                .putHeader("x-amzn-ErrorType", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")
                .end(body.toString());
    }


}
