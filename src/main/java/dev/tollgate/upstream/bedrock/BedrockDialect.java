package dev.tollgate.upstream.bedrock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tollgate.upstream.AnthropicBody;
import dev.tollgate.upstream.UpstreamClient;
import dev.tollgate.upstream.UpstreamDialect;
import dev.tollgate.upstream.UpstreamExchange;
import dev.tollgate.upstream.UpstreamTarget;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Claude on Amazon Bedrock, through bedrock-runtime's InvokeModel and InvokeModelWithResponseStream
 * (digest §1): the model id in the URL, {@code model} and {@code stream} out of the body,
 * {@code anthropic_version: bedrock-2023-05-31} and the call's {@code anthropic-beta} values
 * ({@code anthropic_beta}) in it; signed with SigV4 by AWS's own signer (service {@code bedrock}),
 * or a Bedrock API key as a bearer token. count_tokens is Bedrock's CountTokens operation.
 */
public final class BedrockDialect implements UpstreamDialect {

    public static final String VERSION = "bedrock-2023-05-31";
    static final String SIGNING_NAME = "bedrock";
    private static final Set<String> NOT_FOR_BEDROCK = Set.of("model", "stream", "anthropic_version", "anthropic_beta");
    private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final UpstreamTarget endpoint;
    private final String region;
    private final AwsCredentialsIdentity credentials;
    private final String apiKey;
    private final String inferenceProfile;
    private final Map<String, String> modelMap;

    /**
     * {@code credentials} (SigV4) or {@code apiKey} (bearer), one of them null; {@code inferenceProfile}
     * may be null (foundation-model ids).
     */
    public BedrockDialect(String baseUrl, String region, AwsCredentialsIdentity credentials, String apiKey,
                          String inferenceProfile, Map<String, String> modelMap) {
        this.endpoint = UpstreamTarget.of(baseUrl, "");
        this.region = region;
        this.credentials = credentials;
        this.apiKey = apiKey;
        this.inferenceProfile = inferenceProfile;
        this.modelMap = Map.copyOf(modelMap);
    }

    /** Static credentials, with a session token for temporary ones. */
    public static AwsCredentialsIdentity credentials(String accessKeyId, String secretAccessKey, String sessionToken) {
        return sessionToken == null ? AwsCredentialsIdentity.create(accessKeyId, secretAccessKey)
                : AwsSessionCredentialsIdentity.create(accessKeyId, secretAccessKey, sessionToken);
    }

    /** The default endpoint of a region. */
    public static String defaultBaseUrl(String region) {
        return "https://bedrock-runtime." + region + ".amazonaws.com";
    }

    @Override
    public Future<UpstreamExchange> open(UpstreamClient client, String modelId, String query, MultiMap clientHeaders,
                                         boolean stream) {
        String uri = endpoint.basePath() + "/model/"
                + BedrockModels.pathSegment(BedrockModels.invokeId(modelId, inferenceProfile, modelMap))
                + (stream ? "/invoke-with-response-stream" : "/invoke");
        return client.openRaw(endpoint, uri, stream)
                .map(request -> new BedrockExchange(this, client, request, uri, clientHeaders, stream));
    }

    @Override
    public Future<UpstreamClient.Answer> countTokens(UpstreamClient client, String modelId, byte[] body,
                                                     MultiMap clientHeaders, String query) {
        byte[] countBody;
        try {
            countBody = countBody(body, clientHeaders);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        // CountTokens takes foundation-model ids (inference profiles: unconfirmed), so no profile prefix.
        String mapped = modelMap.get(modelId);
        String uri = endpoint.basePath() + "/model/"
                + BedrockModels.pathSegment(mapped != null ? mapped : BedrockModels.baseId(modelId)) + "/count-tokens";
        return client.openRaw(endpoint, uri, false)
                .compose(request -> {
                    authorize(request, uri, countBody, false);
                    return client.send(request, Buffer.buffer(countBody), "/v1/messages/count_tokens");
                })
                .compose(response -> response.body().map(b -> {
                    if (response.statusCode() != 200) {
                        BedrockErrors.Mapped error = BedrockErrors.of(response.statusCode(),
                                response.getHeader("x-amzn-errortype"), b.getBytes());
                        return new UpstreamClient.Answer(error.status(), response.headers(), Buffer.buffer(error.envelope()));
                    }
                    return new UpstreamClient.Answer(200, MultiMap.caseInsensitiveMultiMap()
                            .set("content-type", "application/json"), Buffer.buffer(countAnswer(b.getBytes())));
                }));
    }

    /** CountTokens' body: {@code {"input":{"invokeModel":{"body":"<base64 of the InvokeModel body>"}}}}. */
    private byte[] countBody(byte[] anthropicBody, MultiMap clientHeaders) {
        byte[] invoke = invokeBody(anthropicBody, clientHeaders);
        try {
            if (!JSON.readTree(invoke).has("max_tokens")) {
                // An InvokeModel body needs max_tokens; a count does not depend on it.
                invoke = AnthropicBody.rewrite(invoke, Set.of(), "\"max_tokens\":1");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("the body is not JSON", e);
        }
        return ("{\"input\":{\"invokeModel\":{\"body\":\"" + Base64.getEncoder().encodeToString(invoke) + "\"}}}")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] countAnswer(byte[] bedrock) {
        try {
            JsonNode count = JSON.readTree(bedrock).get("inputTokens");
            if (count == null || !count.canConvertToLong()) {
                return AnthropicBody.error("api_error", "The upstream answered count_tokens without a count");
            }
            return ("{\"input_tokens\":" + count.asLong() + "}").getBytes(StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return AnthropicBody.error("api_error", "The upstream answered count_tokens without a count");
        }
    }

    /** The InvokeModel body of an Anthropic Messages body. */
    byte[] invokeBody(byte[] anthropicBody, MultiMap clientHeaders) {
        StringBuilder prefix = new StringBuilder("\"anthropic_version\":\"" + VERSION + "\"");
        List<String> betas = AnthropicBody.betas(clientHeaders.getAll("anthropic-beta"));
        if (!betas.isEmpty()) {
            prefix.append(",\"anthropic_beta\":[");
            for (int i = 0; i < betas.size(); i++) {
                prefix.append(i == 0 ? "" : ",").append(AnthropicBody.quote(betas.get(i)));
            }
            prefix.append(']');
        }
        return AnthropicBody.rewrite(anthropicBody, NOT_FOR_BEDROCK, prefix.toString());
    }

    /** Content type, accept and auth headers of one request: a bearer API key, or SigV4 over the body. */
    void authorize(HttpClientRequest request, String uri, byte[] body, boolean stream) {
        request.putHeader("content-type", "application/json");
        request.putHeader(stream ? "x-amzn-bedrock-accept" : "accept", "application/json");
        if (apiKey != null) {
            request.putHeader("authorization", "Bearer " + apiKey);
            return;
        }
        SdkHttpRequest.Builder unsigned = SdkHttpRequest.builder()
                .method(SdkHttpMethod.POST)
                .protocol(endpoint.tls() ? "https" : "http")
                .host(endpoint.host())
                .port(endpoint.port())
                .encodedPath(uri)
                .putHeader("content-type", "application/json")
                .putHeader(stream ? "x-amzn-bedrock-accept" : "accept", "application/json");
        SignedRequest signed = SIGNER.sign(r -> r.identity(credentials)
                .request(unsigned.build())
                .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, SIGNING_NAME)
                .putProperty(AwsV4HttpSigner.REGION_NAME, region));
        signed.request().forEachHeader((name, values) -> {
            if (!values.isEmpty()) {
                request.putHeader(name, values.get(0));
            }
        });
    }

    /** Never a secret: upstreams end up in logs. */
    @Override
    public String toString() {
        return "bedrock " + region + " " + endpoint;
    }
}
