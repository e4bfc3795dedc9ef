package dev.tollgate.openai;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.RateLimitException;
import com.openai.errors.SseException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.CompletionUsage;
import dev.tollgate.support.FakeUpstreamResource;
import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;
import dev.tollgate.testing.Scenario;
import dev.tollgate.testing.Usage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URL;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static dev.tollgate.support.Tollgate.assertReconciled;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The official OpenAI Java SDK, pointed at the gateway, talking to Claude through the fake upstream. */
@QuarkusTest
@QuarkusTestResource(value = FakeUpstreamResource.class, restrictToAnnotatedClass = false)
class OpenAiSdkTest {

    @TestHTTPResource("/v1")
    URL baseUrl;

    FakeUpstream fake = FakeUpstreamResource.fake();

    @BeforeEach
    void reset() {
        fake.reset();
    }

    private OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder().baseUrl(baseUrl.toString()).apiKey(key)
                .maxRetries(0).timeout(Duration.ofSeconds(20)).build();
    }

    private static ChatCompletionCreateParams.Builder params() {
        return ChatCompletionCreateParams.builder()
                .model("claude-sonnet-4-6")
                .addSystemMessage("You are terse.")
                .addUserMessage("Say hello")
                .maxCompletionTokens(200);
    }

    @Test
    void nonStreamingCompletion() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Hello from Claude").usage(Usage.of(40, 4).cacheRead(10)));

        ChatCompletion completion = client(acct[1]).chat().completions().create(params().build());

        assertEquals("Hello from Claude", completion.choices().get(0).message().content().orElseThrow());
        assertEquals(ChatCompletion.Choice.FinishReason.STOP, completion.choices().get(0).finishReason());
        assertEquals("claude-sonnet-4-6", completion.model());
        CompletionUsage usage = completion.usage().orElseThrow();
        assertEquals(50, usage.promptTokens());
        assertEquals(4, usage.completionTokens());
        assertEquals(54, usage.totalTokens());
        assertEquals("You are terse.", fake.lastRequest().json().path("system").asText());
        assertReconciled(acct[0]);
    }

    @Test
    void streamingCompletionWithUsage() {
        String[] acct = Tollgate.fundedAccount("10");
        fake.enqueue(Scenario.reply("Streamed hello from Claude").usage(Usage.of(60, 5)));

        StringBuilder text = new StringBuilder();
        List<CompletionUsage> usages = new ArrayList<>();
        List<ChatCompletionChunk.Choice.FinishReason> finishes = new ArrayList<>();
        ChatCompletionCreateParams streamParams = params()
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> stream = client(acct[1]).chat().completions().createStreaming(streamParams)) {
            stream.stream().forEach(chunk -> {
                chunk.usage().ifPresent(usages::add);
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    choice.delta().content().ifPresent(text::append);
                    choice.finishReason().ifPresent(finishes::add);
                }
            });
        }

        assertEquals("Streamed hello from Claude", text.toString());
        assertEquals(List.of(ChatCompletionChunk.Choice.FinishReason.STOP), finishes);
        assertEquals(1, usages.size());
        assertEquals(60, usages.get(0).promptTokens());
        assertEquals(5, usages.get(0).completionTokens());
        assertTrue(fake.lastRequest().json().path("stream").asBoolean());
        assertReconciled(acct[0]);
    }

    @Test
    void sdkSurfacesGatewayAndUpstreamErrorsAsTypedExceptions() {
        UnauthorizedException unauthorized = assertThrows(UnauthorizedException.class,
                () -> client("tg-bogus").chat().completions().create(params().build()));
        assertEquals("invalid_api_key", unauthorized.code().orElseThrow());

        String[] acct = Tollgate.fundedAccount("10");
        NotFoundException notFound = assertThrows(NotFoundException.class,
                () -> client(acct[1]).chat().completions().create(params().model("gpt-4o").build()));
        assertEquals("model_not_found", notFound.code().orElseThrow());

        fake.enqueue(Scenario.rateLimited(3));
        RateLimitException limited = assertThrows(RateLimitException.class,
                () -> client(acct[1]).chat().completions().create(params().build()));
        assertEquals("3", limited.headers().values("retry-after").get(0));

        fake.enqueue(Scenario.reply("one two three four").midStreamError("overloaded_error", "Overloaded", 1));
        SseException midStream = assertThrows(SseException.class, () -> {
            try (StreamResponse<ChatCompletionChunk> stream =
                         client(acct[1]).chat().completions().createStreaming(params().build())) {
                stream.stream().forEach(chunk -> { });
            }
        });
        assertEquals("overloaded_error", midStream.type().orElseThrow());
        assertReconciled(acct[0]);
    }
}
