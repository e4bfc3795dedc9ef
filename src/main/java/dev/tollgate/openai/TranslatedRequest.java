package dev.tollgate.openai;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Result of {@link ChatRequestTranslator#toAnthropic}.
 *
 * @param anthropicBody the Anthropic Messages request body ({@code model} copied verbatim; the caller may overwrite it)
 * @param stream        the OpenAI {@code stream} flag ({@code false} when absent)
 * @param includeUsage  the OpenAI {@code stream_options.include_usage} flag ({@code false} when absent);
 *                      reported as given, also when {@code stream} is false
 * @param maxTokensDefaulted the client set neither {@code max_completion_tokens} nor {@code max_tokens}:
 *                      {@code max_tokens} is the model's maximum output, which the gateway may lower
 */
public record TranslatedRequest(ObjectNode anthropicBody, boolean stream, boolean includeUsage,
                                boolean maxTokensDefaulted) {
}
