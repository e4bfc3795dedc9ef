package dev.tollgate.gateway;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The files and custom skills a request names, found by MessagesRequest's one pass (their ownership is checked before the call). */
class StoredReferencesTest {

    private static MessagesRequest parse(String json) {
        return MessagesRequest.parse(json.getBytes(StandardCharsets.UTF_8), true);
    }

    @Test
    void fileSourcesAndContainerUploadsAreNamedInAnyFieldOrder() {
        MessagesRequest r = parse("{\"model\":\"m\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"document\",\"source\":{\"file_id\":\"file_doc\",\"type\":\"file\"}},"
                + "{\"type\":\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"file_img\"}},"
                + "{\"file_id\":\"file_csv\",\"type\":\"container_upload\"}]}]}");
        assertEquals(List.of("file_doc", "file_img", "file_csv"), r.fileIds());
        assertNull(r.customSkillIds());
        assertTrue(r.namesStoredResources());
    }

    @Test
    void customSkillsAreNamedAndAnthropicOnesAreNot() {
        MessagesRequest r = parse("{\"model\":\"m\",\"max_tokens\":5,\"container\":{\"skills\":["
                + "{\"type\":\"anthropic\",\"skill_id\":\"pptx\",\"version\":\"latest\"},"
                + "{\"type\":\"custom\",\"skill_id\":\"skill_01abc\",\"version\":\"latest\"}]},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        assertEquals(List.of("skill_01abc"), r.customSkillIds());
        assertNull(r.fileIds());
    }

    @Test
    void outputFilesEchoedBackAndOtherSourcesAreNotReferences() {
        MessagesRequest r = parse("{\"model\":\"m\",\"max_tokens\":5,\"messages\":["
                + "{\"role\":\"assistant\",\"content\":[{\"type\":\"bash_code_execution_tool_result\",\"tool_use_id\":\"t\","
                + "\"content\":{\"type\":\"bash_code_execution_result\",\"content\":[{\"type\":\"bash_code_execution_output\",\"file_id\":\"file_out\"}]}}]},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":\"https://x\"}}]}]}");
        assertFalse(r.namesStoredResources());
    }
}
