package dev.tollgate.batches;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.NotFoundException;
import com.anthropic.models.beta.files.BetaFileMetadata;
import com.anthropic.models.beta.files.FileUploadParams;
import com.anthropic.models.messages.batches.BatchCreateParams;
import com.anthropic.models.messages.batches.MessageBatch;
import com.anthropic.models.messages.batches.MessageBatchIndividualResponse;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.tollgate.support.Tollgate.admin;
import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official Anthropic Java SDK's batches and (beta) files clients, pointed at the gateway by base URL only. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class AnthropicSdkTest {

    FakeUpstream fake = FakeUpstreamResource.fake();

    @TestHTTPResource("/")
    URL baseUrl;

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private AnthropicClient sdk(String key) {
        String base = baseUrl.toString();
        return AnthropicOkHttpClient.builder().baseUrl(base.endsWith("/") ? base.substring(0, base.length() - 1) : base)
                .apiKey(key).maxRetries(0).build();
    }

    @Test
    void batchesClientCreatesReadsListsAndStreamsResults() {
        String[] acct = Tollgate.fundedAccount("10");
        AnthropicClient client = sdk(acct[1]);
        BatchCreateParams params = BatchCreateParams.builder()
                .addRequest(BatchCreateParams.Request.builder().customId("sdk-1").params(
                        BatchCreateParams.Request.Params.builder().model("claude-haiku-4-5").maxTokens(20)
                                .addUserMessage("Hello from the SDK").build()).build())
                .addRequest(BatchCreateParams.Request.builder().customId("sdk-2").params(
                        BatchCreateParams.Request.Params.builder().model("claude-haiku-4-5").maxTokens(20)
                                .addUserMessage("Hello again").build()).build())
                .build();
        MessageBatch batch = client.messages().batches().create(params);
        assertTrue(batch.id().startsWith("msgbatch_"));
        assertEquals(MessageBatch.ProcessingStatus.IN_PROGRESS, batch.processingStatus());
        assertEquals(List.of(batch.id()), client.messages().batches().list().data().stream().map(MessageBatch::id).toList());

        fake.batches.end(batch.id());
        MessageBatch ended = client.messages().batches().retrieve(batch.id());
        assertEquals(MessageBatch.ProcessingStatus.ENDED, ended.processingStatus());
        assertEquals(2, ended.requestCounts().succeeded());
        Set<String> ids = new HashSet<>();
        try (StreamResponse<MessageBatchIndividualResponse> results = client.messages().batches().resultsStreaming(batch.id())) {
            results.stream().forEach(r -> {
                ids.add(r.customId());
                assertTrue(r.result().isSucceeded());
            });
        }
        assertEquals(Set.of("sdk-1", "sdk-2"), ids);

        String[] other = Tollgate.fundedAccount("1");
        assertThrows(NotFoundException.class, () -> sdk(other[1]).messages().batches().retrieve(batch.id()));

        admin().post("/admin/v1/maintenance/batches").then().statusCode(200);
        client.messages().batches().delete(batch.id());
        assertEquals(2, Tollgate.usage(acct[0]).jsonPath().getList("data").size());
        assertReconciled(acct[0]);
    }

    @Test
    void betaFilesClientUploadsListsReadsAndDeletes() {
        String[] acct = Tollgate.fundedAccount("1");
        AnthropicClient client = sdk(acct[1]);
        BetaFileMetadata file = client.beta().files().upload(FileUploadParams.builder()
                .file("notes from the SDK".getBytes(StandardCharsets.UTF_8)).build());
        assertTrue(file.id().startsWith("file_"));
        assertEquals(List.of(file.id()), client.beta().files().list().data().stream().map(BetaFileMetadata::id).toList());
        assertEquals(file.id(), client.beta().files().retrieveMetadata(file.id()).id());

        String[] other = Tollgate.fundedAccount("1");
        assertThrows(NotFoundException.class, () -> sdk(other[1]).beta().files().retrieveMetadata(file.id()));
        assertEquals(0, sdk(other[1]).beta().files().list().data().size());

        client.beta().files().delete(file.id());
        assertEquals(0, client.beta().files().list().data().size());
        assertReconciled(acct[0]);
    }
}
