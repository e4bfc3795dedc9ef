package dev.tollgate.openai;

import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import org.junit.jupiter.api.Test;

import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.hasKey;

/** /v1/chat/completions is a raw Vert.x route, so it is in /q/openapi (and Swagger UI) only as documented by hand. */
@QuarkusTest
class ChatCompletionsOpenApiTest {

    @Test
    void chatCompletionsIsDocumentedWithItsSchemas() {
        RestAssured.get("/q/openapi?format=json").then().statusCode(200)
                .body("paths", hasKey("/v1/chat/completions"))
                .body("paths.'/v1/chat/completions'.post.requestBody.content.'application/json'.schema.'$ref'",
                        equalTo("#/components/schemas/ChatCompletionRequest"))
                .body("components.schemas.ChatCompletionRequest.required", hasItems("model", "messages"))
                .body("components.schemas.ChatCompletion.properties", hasKey("usage"))
                .body("paths.'/v1/chat/completions'.post.responses.'402'.content.'application/json'.schema.'$ref'",
                        equalTo("#/components/schemas/OpenAiError"));
    }
}
