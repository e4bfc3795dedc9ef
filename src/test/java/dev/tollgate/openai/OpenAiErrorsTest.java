package dev.tollgate.openai;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.tollgate.openai.TestJson.assertJsonEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class OpenAiErrorsTest {

    @ParameterizedTest(name = "{0} {1} -> {2}/{3}")
    @CsvSource(nullValues = "NULL", value = {
            "400, invalid_request_error, invalid_request_error, NULL",
            "401, authentication_error,  authentication_error,  invalid_api_key",
            "402, billing_error,         insufficient_quota,    insufficient_quota",
            "403, permission_error,      permission_error,      NULL",
            "404, not_found_error,       not_found_error,       model_not_found",
            "404, NULL,                  not_found_error,       NULL",
            "413, request_too_large,     invalid_request_error, request_too_large",
            "429, rate_limit_error,      rate_limit_error,      rate_limit_exceeded",
            "500, api_error,             api_error,             NULL",
            "504, timeout_error,         timeout_error,         timeout",
            "529, overloaded_error,      overloaded_error,      NULL",
            "409, conflict_error,        invalid_request_error, NULL",
            "502, NULL,                  api_error,             NULL",
    })
    void envelopeFollowsOpenAiConventions(int status, String anthropicType, String type, String code) {
        var expected = TestJson.MAPPER.createObjectNode();
        var error = expected.putObject("error");
        error.put("message", "boom");
        error.put("type", type);
        error.putNull("param");
        error.put("code", code);
        assertJsonEquals(expected, OpenAiErrors.envelope(status, anthropicType, "boom"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "invalid_request_error, 400", "authentication_error, 401", "billing_error, 402",
            "permission_error, 403", "not_found_error, 404", "request_too_large, 413",
            "rate_limit_error, 429", "api_error, 500", "timeout_error, 504", "overloaded_error, 529",
            "brand_new_error, 500",
    })
    void statusForAnthropicType(String type, int status) {
        assertEquals(status, OpenAiErrors.statusForAnthropicType(type));
    }

    @org.junit.jupiter.api.Test
    void fromAnthropicErrorBody() {
        assertJsonEquals("""
                {"error":{"message":"model: claude-typo","type":"not_found_error","param":null,"code":"model_not_found"}}""",
                OpenAiErrors.fromAnthropicError(TestJson.json("""
                        {"type":"error","error":{"type":"not_found_error","message":"model: claude-typo"},"request_id":"req_1"}""")));
    }
}
