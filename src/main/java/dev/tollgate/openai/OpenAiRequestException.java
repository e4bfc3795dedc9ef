package dev.tollgate.openai;

/**
 * An OpenAI chat.completions request that cannot be translated. Always maps to HTTP 400 with an
 * OpenAI {@code invalid_request_error} envelope (see {@link OpenAiErrors#fromRequestException}).
 * {@link #getMessage()} is user facing; {@link #param()} names the offending request field in OpenAI
 * notation (e.g. {@code messages[1].content[0]}), or is {@code null}.
 */
public final class OpenAiRequestException extends RuntimeException {

    private final String param;

    public OpenAiRequestException(String param, String message) {
        super(message);
        this.param = param;
    }

    /** The offending OpenAI parameter path, or {@code null}. */
    public String param() {
        return param;
    }

    /** The user-facing message (same as {@link #getMessage()}). */
    public String message() {
        return getMessage();
    }

    /** Always 400. */
    public int httpStatus() {
        return 400;
    }
}
