package dev.tollgate.openai;

/**
 * What the caller knows about the target Claude model, needed to translate an OpenAI request.
 *
 * @param maxOutputTokens   the model's maximum output tokens; used as Anthropic {@code max_tokens} when the
 *                          OpenAI request gives neither {@code max_completion_tokens} nor {@code max_tokens}
 * @param structuredOutputs whether the model supports {@code output_config.format} (structured outputs)
 */
public record ModelCapabilities(int maxOutputTokens, boolean structuredOutputs) {
}
