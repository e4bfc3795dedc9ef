package dev.tollgate.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import dev.tollgate.api.ApiException;
import dev.tollgate.metering.HoldEstimator;
import dev.tollgate.metering.PriceModifiers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What the gateway needs to know of a Messages request body, read in one streaming pass without
 * building a tree: the fields it validates, the facts that bound the call's cost, and where the
 * model name sits so it can be replaced without re-serialising the rest of the body.
 */
public final class MessagesRequest implements HoldEstimator.Facts {

    /** Hostile nesting is refused long before it costs memory. */
    static final int MAX_DEPTH = 128;
    /**
     * Duplicate keys are refused: a body with two "model" fields could be billed as one model
     * and served as the other.
     */
    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final byte[] body;
    private boolean messages;
    private String model;
    private int modelStart = -1;
    private int modelEnd = -1;
    private Long maxTokens;
    private int maxTokensStart = -1;
    private int maxTokensEnd = -1;
    private boolean stream;
    private int imageBlocks;
    private boolean cacheControl;
    private boolean ttl1h;
    private boolean ttl5m;
    private boolean tools;
    private boolean serverTools;
    private String speed;
    private String inferenceGeo;
    private boolean documentFromFile;
    private boolean inputAddedDuringCall;
    private boolean maxTokensDefaulted;
    private long thinkingBudgetTokens;
    private String userId;
    /** Stored resources the request names (null when none, so the common request allocates nothing). */
    private List<String> fileIds;
    private List<String> customSkillIds;
    /** The container a request reuses (top-level {@code container}: its id, or an object's {@code id}). */
    private String containerId;
    /** A code execution tool or a container (skills run in one): the response may name files it made. */
    private boolean codeExecution;

    private MessagesRequest(byte[] body) {
        this.body = body;
    }

    /**
     * Parses and validates a body. {@code requireMaxTokens} is false for count_tokens.
     *
     * @throws ApiException 400 invalid_request_error naming what is wrong
     */
    public static MessagesRequest parse(byte[] body, boolean requireMaxTokens) {
        MessagesRequest r = new MessagesRequest(body);
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw ApiException.invalidRequest("The request body must be a JSON object");
            }
            r.readTopLevel(p);
            if (p.nextToken() != null) {
                throw ApiException.invalidRequest("The request body has trailing data after the JSON object");
            }
        } catch (StreamConstraintsException e) {
            throw ApiException.invalidRequest("The request body is nested deeper than " + MAX_DEPTH + " levels");
        } catch (JsonParseException e) {
            throw ApiException.invalidRequest("The request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.invalidRequest("The request body could not be read: " + e.getMessage());
        }
        if (r.model == null) {
            throw ApiException.invalidRequest("model: Field required");
        }
        if (!r.messages) {
            throw ApiException.invalidRequest("messages: Field required");
        }
        if (requireMaxTokens && r.maxTokens == null) {
            throw ApiException.invalidRequest("max_tokens: Field required");
        }
        return r;
    }

    private void readTopLevel(JsonParser p) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "model" -> {
                    if (value != JsonToken.VALUE_STRING) {
                        throw ApiException.invalidRequest("model: Input should be a valid string");
                    }
                    modelStart = (int) p.currentTokenLocation().getByteOffset();
                    model = p.getText();
                    modelEnd = (int) p.currentLocation().getByteOffset();
                }
                case "max_tokens" -> {
                    if (value != JsonToken.VALUE_NUMBER_INT) {
                        throw ApiException.invalidRequest("max_tokens: Input should be a valid integer");
                    }
                    long v = p.getValueAsLong(-1);
                    if (v < 0 || v > 1_000_000 || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                        throw ApiException.invalidRequest("max_tokens: must be between 0 and 1000000");
                    }
                    maxTokens = v;
                    maxTokensStart = (int) p.currentTokenLocation().getByteOffset();
                    maxTokensEnd = (int) p.currentLocation().getByteOffset();
                }
                case "stream" -> {
                    if (!value.isBoolean() && value != JsonToken.VALUE_NULL) {
                        throw ApiException.invalidRequest("stream: Input should be a valid boolean");
                    }
                    stream = value == JsonToken.VALUE_TRUE;
                }
                case "messages" -> {
                    if (value != JsonToken.START_ARRAY) {
                        throw ApiException.invalidRequest("messages: Input should be a valid list");
                    }
                    messages = true;
                    scan(p, value, null);
                }
                case "tools" -> {
                    if (value == JsonToken.START_ARRAY) {
                        readTools(p);
                    } else {
                        scan(p, value, null);
                    }
                }
                case "cache_control" -> scan(p, value, "cache_control");
                case "mcp_servers" -> readMcpServers(p, value);
                case "thinking" -> readThinking(p, value);
                case "speed" -> {
                    speed = nullableString(p, value, "speed");
                    if (speed != null && !speed.equals("standard") && !speed.equals("fast")) {
                        throw ApiException.invalidRequest("speed: Input should be 'standard' or 'fast'");
                    }
                }
                case "inference_geo" -> inferenceGeo = nullableString(p, value, "inference_geo");
                case "metadata" -> readMetadata(p, value);
                case "container" -> readContainer(p, value);
                default -> scan(p, value, null);
            }
        }
    }

    private static String nullableString(JsonParser p, JsonToken value, String field) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return null;
        }
        if (value != JsonToken.VALUE_STRING) {
            throw ApiException.invalidRequest(field + ": Input should be a valid string");
        }
        return p.getText();
    }

    private void readTools(JsonParser p) throws IOException {
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            tools = true;
            if (t != JsonToken.START_OBJECT) {
                scan(p, t, null);
                continue;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if ("type".equals(field) && v == JsonToken.VALUE_STRING && isServerTool(p.getText())) {
                    serverTools = true;
                    codeExecution |= p.getText().startsWith("code_execution");
                }
                scan(p, v, field);
            }
        }
    }

    private void readThinking(JsonParser p, JsonToken value) throws IOException {
        readField(p, value, "budget_tokens", JsonToken.VALUE_NUMBER_INT, q -> thinkingBudgetTokens = q.getValueAsLong(0));
    }

    /** Keeps metadata.user_id (the upstream pool's stickiness key); everything else is only scanned. */
    private void readMetadata(JsonParser p, JsonToken value) throws IOException {
        readField(p, value, "user_id", JsonToken.VALUE_STRING, q -> userId = q.getText());
    }

    /** Reads one field of an object value of this kind with {@code read}; scans everything else. */
    private void readField(JsonParser p, JsonToken value, String wanted, JsonToken kind, FieldReader read)
            throws IOException {
        if (value != JsonToken.START_OBJECT) {
            scan(p, value, null);
            return;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            if (wanted.equals(field) && v == kind) {
                read.read(p);
            } else {
                scan(p, v, field);
            }
        }
    }

    /**
     * {@code container}: a container id, or {@code {"id"?, "skills"?}} (skills run in a container);
     * its id must be the account's, and the skills it names are noted like any stored resource.
     */
    private void readContainer(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_NULL) {
            return;
        }
        codeExecution = true;
        if (value == JsonToken.VALUE_STRING) {
            containerId = p.getText();
            return;
        }
        if (value != JsonToken.START_OBJECT) {
            throw ApiException.invalidRequest("container: Input should be a valid string or object");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            if ("id".equals(field) && v == JsonToken.VALUE_STRING) {
                containerId = p.getText();
            } else {
                scan(p, v, field);
            }
        }
    }

    private interface FieldReader {
        void read(JsonParser p) throws IOException;
    }

    /** An MCP server's tool results enter the context while the call runs. */
    private void readMcpServers(JsonParser p, JsonToken value) throws IOException {
        if (value != JsonToken.START_ARRAY) {
            scan(p, value, null);
            return;
        }
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            inputAddedDuringCall = true;
            scan(p, t, null);
        }
    }

    /** Server tools whose results the upstream adds to the context while the call runs. */
    private static boolean isServerTool(String type) {
        return type.startsWith("web_search") || type.startsWith("web_fetch") || type.startsWith("code_execution");
    }

    /**
     * Walks any value, noting image/document blocks, content the body names without containing it,
     * and cache_control (wherever it is: system, messages, tools, documents) with its TTLs.
     *
     * @return an object's "type", so its parent can tell what kind of source a block has
     */
    private String scan(JsonParser p, JsonToken token, String fieldName) throws IOException {
        if (token == JsonToken.START_OBJECT) {
            boolean inCacheControl = "cache_control".equals(fieldName);
            cacheControl |= inCacheControl;
            boolean sawTtl = false;
            String type = null;
            String sourceType = null;
            String storedId = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                if (v == JsonToken.VALUE_STRING) {
                    String text = p.getText();
                    if ("file_id".equals(field) || "skill_id".equals(field)) {
                        storedId = text;
                    } else if ("type".equals(field)) {
                        type = text;
                        if ("image".equals(text) || "document".equals(text)) {
                            imageBlocks++;
                        } else if ("container_upload".equals(text)) {
                            // The file goes into the code execution container; what the code reads of it comes back as tool results.
                            inputAddedDuringCall = true;
                        }
                    } else if (inCacheControl && "ttl".equals(field)) {
                        sawTtl = true;
                        if ("1h".equals(text)) {
                            ttl1h = true;
                        } else {
                            ttl5m = true;
                        }
                    }
                } else {
                    String childType = scan(p, v, field);
                    if ("source".equals(field)) {
                        sourceType = childType;
                    }
                }
            }
            if (inCacheControl && !sawTtl) {
                ttl5m = true;
            }
            if ("document".equals(type)) {
                noteDocumentSource(sourceType);
            }
            if (storedId != null) {
                noteStoredResource(type, storedId);
            }
            return type;
        } else if (token == JsonToken.START_ARRAY) {
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                scan(p, t, null);
            }
        }
        return null;
    }

    /**
     * A document by URL or file_id is not in the body, so its bytes cannot bound its tokens (a PDF
     * has any number of pages). Images need no such care: the upstream scales every image down to
     * a bounded size, so the per-image allowance holds whatever the source.
     */
    private void noteDocumentSource(String sourceType) {
        if ("file".equals(sourceType)) {
            documentFromFile = true;
        } else if ("url".equals(sourceType)) {
            inputAddedDuringCall = true;
        }
    }

    /**
     * A file (a {@code file} source of a document or image, or a {@code container_upload} block) or
     * a custom skill ({@code container.skills[]} of type {@code custom}) the request names: stored
     * upstream under the operator's organization, so the caller's account must own it.
     */
    private void noteStoredResource(String type, String id) {
        if ("file".equals(type) || "container_upload".equals(type)) {
            if (fileIds == null) {
                fileIds = new java.util.ArrayList<>(2);
            }
            fileIds.add(id);
        } else if ("custom".equals(type)) {
            if (customSkillIds == null) {
                customSkillIds = new java.util.ArrayList<>(2);
            }
            customSkillIds.add(id);
        }
    }

    /** Files the request names (document/image sources of type file, container uploads), or null. */
    public List<String> fileIds() {
        return fileIds;
    }

    /** Custom skills the request names in container.skills, or null. */
    public List<String> customSkillIds() {
        return customSkillIds;
    }

    /** The container the request reuses (one at most), or null. */
    public List<String> containerIds() {
        return containerId == null ? null : List.of(containerId);
    }

    /** Whether the request names a stored file, custom skill or container. */
    public boolean namesStoredResources() {
        return fileIds != null || customSkillIds != null || containerId != null;
    }

    /**
     * The request runs code execution (the tool, or a container for skills), so its response may
     * name files that code made and the container it ran in: only such responses are inspected.
     */
    public boolean mayCreateFiles() {
        return codeExecution;
    }

    /** The body with the model name replaced, every other byte untouched; the same array when unchanged. */
    public byte[] bodyWithModel(String upstreamModel) {
        if (upstreamModel.equals(model)) {
            return body;
        }
        return splice(body, modelStart, modelEnd, "\"" + upstreamModel + "\"");
    }

    /** This request with max_tokens lowered (affordability), every other byte kept. */
    public MessagesRequest withMaxTokens(long newMaxTokens) {
        return parse(splice(body, maxTokensStart, maxTokensEnd, Long.toString(newMaxTokens)), true);
    }

    /**
     * Marks max_tokens as the gateway's default rather than the client's limit (a translated request
     * that asked for none), so it may be lowered to what the balance pays for.
     */
    public MessagesRequest markMaxTokensDefaulted() {
        maxTokensDefaulted = true;
        return this;
    }

    /** {@code thinking.budget_tokens}, which max_tokens must exceed; 0 without a budget. */
    public long thinkingBudgetTokens() {
        return thinkingBudgetTokens;
    }

    /** The client set no output limit: max_tokens is the model's maximum, to be fitted to the balance. */
    public boolean maxTokensDefaulted() {
        return maxTokensDefaulted;
    }

    private static byte[] splice(byte[] body, int start, int end, String replacement) {
        byte[] bytes = replacement.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[body.length - (end - start) + bytes.length];
        System.arraycopy(body, 0, out, 0, start);
        System.arraycopy(bytes, 0, out, start, bytes.length);
        System.arraycopy(body, end, out, start + bytes.length, body.length - end);
        return out;
    }

    /** {@code metadata.user_id} when the request carries one (Claude Code puts its session id there), else null. */
    public String userId() {
        return userId;
    }

    public byte[] body() {
        return body;
    }

    public String model() {
        return model;
    }

    @Override
    public int bodyBytes() {
        return body.length;
    }

    @Override
    public long maxTokens() {
        return maxTokens == null ? 0 : maxTokens;
    }

    public boolean stream() {
        return stream;
    }

    @Override
    public int imageBlocks() {
        return imageBlocks;
    }

    /** True when any cache_control is present, so input tokens may be billed as cache writes. */
    @Override
    public boolean cacheControl() {
        return cacheControl;
    }

    /** Some cache breakpoint asks for the 1-hour TTL, so input may be billed at the 1-hour write price. */
    @Override
    public boolean oneHourCacheTtl() {
        return ttl1h;
    }

    /** Every cache breakpoint asks for the 1-hour TTL (used when the upstream reports no TTL split). */
    public boolean onlyOneHourTtl() {
        return ttl1h && !ttl5m;
    }

    @Override
    public boolean tools() {
        return tools;
    }

    @Override
    public boolean serverTools() {
        return serverTools;
    }

    /** speed and inference_geo as asked; the service tier is the upstream's to report, never the request's. */
    @Override
    public PriceModifiers requestedModifiers() {
        return new PriceModifiers(null, inferenceGeo, speed);
    }

    @Override
    public HoldEstimator.InputBound inputBound() {
        if (serverTools || inputAddedDuringCall) {
            return HoldEstimator.InputBound.CONTEXT_WINDOW;
        }
        return documentFromFile ? HoldEstimator.InputBound.COUNT_TOKENS : HoldEstimator.InputBound.BODY;
    }
}
