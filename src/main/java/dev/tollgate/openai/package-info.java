/**
 * Pure, dependency-free (Jackson only) translators between the OpenAI {@code chat.completions} wire format and
 * the Anthropic Messages format, following {@code anthropic-api.md} §1–§4 and §8:
 * <ul>
 *   <li>{@link dev.tollgate.openai.ChatRequestTranslator}: OpenAI request → Anthropic request;</li>
 *   <li>{@link dev.tollgate.openai.ChatResponseTranslator}: Anthropic message → {@code chat.completion};</li>
 *   <li>{@link dev.tollgate.openai.ChatStreamTranslator}: Anthropic SSE events → {@code chat.completion.chunk} frames;</li>
 *   <li>{@link dev.tollgate.openai.OpenAiErrors}: OpenAI error envelopes.</li>
 * </ul>
 * No HTTP, database or CDI here.
 */
package dev.tollgate.openai;
