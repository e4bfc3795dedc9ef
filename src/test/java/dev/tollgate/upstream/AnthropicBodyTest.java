package dev.tollgate.upstream;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AnthropicBodyTest {

    private static String rewrite(String body, Set<String> drop, String prefix) {
        return new String(AnthropicBody.rewrite(body.getBytes(StandardCharsets.UTF_8), drop, prefix), StandardCharsets.UTF_8);
    }

    @Test
    void dropsMembersAndKeepsEveryOtherByteAsSent() {
        String body = "{ \"model\" : \"claude-haiku-4-5\", \"system\":\"Be \\\"brief\\\" \\u00e9\", \"temperature\":0.70,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true,\"n\":12345678901234567890 }";
        assertEquals("{\"anthropic_version\":\"v\",\"system\":\"Be \\\"brief\\\" \\u00e9\",\"temperature\":0.70,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"n\":12345678901234567890}",
                rewrite(body, Set.of("model", "stream"), "\"anthropic_version\":\"v\""));
    }

    @Test
    void worksWithTheDroppedMemberLastAndNoPrefix() {
        assertEquals("{\"a\":{\"b\":[1,2]},\"s\":\"x\"}", rewrite("{\"a\":{\"b\":[1,2]},\"s\":\"x\",\"model\":\"m\"}",
                Set.of("model"), ""));
        assertEquals("{\"v\":1}", rewrite("{\"model\":\"m\"}", Set.of("model"), "\"v\":1"));
    }

    @Test
    void refusesWhatIsNotAnObject() {
        assertThrows(IllegalArgumentException.class, () -> rewrite("[1]", Set.of(), ""));
        assertThrows(IllegalArgumentException.class, () -> rewrite("{\"a\":", Set.of(), ""));
    }

    @Test
    void betasAreSplitTrimmedAndDeduplicated() {
        assertEquals(List.of("a", "b", "c"), AnthropicBody.betas(List.of("a, b", "b,c", " ")));
    }
}
