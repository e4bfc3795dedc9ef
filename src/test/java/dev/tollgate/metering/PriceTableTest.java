package dev.tollgate.metering;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The built-in table: current models, their limits, and retirement by the table's clock. */
class PriceTableTest {

    static PriceTable at(String instant) {
        return PriceTable.load(Optional.empty(), Clock.fixed(Instant.parse(instant), ZoneOffset.UTC));
    }

    static List<String> availableIds(PriceTable table) {
        return table.available().stream().map(ModelPrice::id).toList();
    }

    /** Digest §7.4: the current lineup, with its context window (max input) and max output. */
    @ParameterizedTest
    @CsvSource({
            "claude-fable-5-2,  1000000, 128000",
            "claude-mythos-5-2, 1000000, 128000",
            "claude-opus-5-5,   1000000, 128000",
            "claude-sonnet-5-5, 1000000, 128000",
            "claude-haiku-5-5,  1000000, 128000",
            "claude-opus-5,     1000000, 128000",
            "claude-sonnet-5,   1000000, 128000",
            "claude-opus-4-8,   1000000, 128000",
            "claude-opus-4-7,   1000000, 128000",
            "claude-sonnet-4-6, 1000000,  64000",
            "claude-haiku-4-5-20251001, 200000, 64000",
    })
    void currentModelsAreServed(String id, int contextWindow, int maxOutput) {
        PriceTable table = at("2026-12-03T12:00:00Z");
        ModelPrice model = table.resolve(id).orElseThrow().price();
        assertEquals(contextWindow, model.contextWindow());
        assertEquals(maxOutput, model.maxOutputTokens());
        assertTrue(availableIds(table).contains(id), id + " is listed");
    }

    /** Retired (digest §7.1 end-of-life dates; Sonnet 4.5 on 2026-11-30), each naming a served replacement. */
    @ParameterizedTest
    @CsvSource({
            "claude-sonnet-4-5,   2026-11-30, claude-sonnet-5-5",
            "claude-opus-4-1,     2026-08-05, claude-opus-5-5",
            "claude-opus-4-0,     2026-06-15, claude-opus-5-5",
            "claude-sonnet-4-0,   2026-06-15, claude-sonnet-5-5",
            "claude-3-7-sonnet-latest, 2026-02-19, claude-sonnet-5-5",
            "claude-3-5-haiku-latest,  2026-02-19, claude-haiku-5-5",
            "claude-3-opus-latest,     2026-01-05, claude-opus-5-5",
    })
    void retiredModelsNameTheirDateAndReplacement(String name, String date, String replacement) {
        PriceTable table = at("2026-12-03T12:00:00Z");
        ModelPrice model = table.resolve(name).orElseThrow().price();
        assertTrue(table.retired(model));
        assertEquals(date, model.retirement().on().toString());
        assertEquals(replacement, model.retirement().replacement());
        assertFalse(availableIds(table).contains(model.id()));
        assertTrue(availableIds(table).contains(replacement), "the replacement is served");
    }

    @Test
    void aModelIsDeprecatedUntilItsRetirementDayBegins() {
        PriceTable before = at("2026-11-29T23:59:59Z");
        ModelPrice sonnet45 = before.resolve("claude-sonnet-4-5").orElseThrow().price();
        assertFalse(before.retired(sonnet45));
        assertTrue(availableIds(before).contains("claude-sonnet-4-5-20250929"));

        PriceTable on = at("2026-11-30T00:00:00Z");
        assertTrue(on.retired(sonnet45));
        assertFalse(availableIds(on).contains("claude-sonnet-4-5-20250929"));
    }

    @Test
    void fastModeIsPricedForTheOpusModelsThatOfferIt() {
        PriceTable table = at("2026-12-03T12:00:00Z");
        List<String> fast = table.available().stream().filter(m -> m.fast() != null).map(ModelPrice::id).toList();
        assertEquals(List.of("claude-opus-5-5", "claude-opus-5", "claude-opus-4-8", "claude-opus-4-7", "claude-opus-4-6"), fast);
        assertNotNull(table.resolve("claude-haiku-5-5").orElseThrow().price().longContext());
    }

    @Test
    void anOperatorFileMayRetireAModelAndCarryComments() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("prices", ".json");
        java.nio.file.Files.writeString(file, """
                {"_comment": "ours", "models": [
                  {"id": "claude-opus-4-6", "_comment": "retired here early", "input": "5", "output": "25",
                   "retires_on": "2026-12-01", "replacement": "claude-opus-5-5"}]}
                """);
        PriceTable table = PriceTable.load(Optional.of(file.toString()),
                Clock.fixed(Instant.parse("2026-12-03T00:00:00Z"), ZoneOffset.UTC));
        assertTrue(table.retired(table.resolve("claude-opus-4-6").orElseThrow().price()));
        assertFalse(availableIds(table).contains("claude-opus-4-6"));
    }

    @Test
    void aReplacementMustBeAModelOfTheTable() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("prices", ".json");
        java.nio.file.Files.writeString(file, """
                {"models": [{"id": "claude-opus-4-6", "input": "5", "output": "25",
                             "retires_on": "2026-12-01", "replacement": "claude-opus-9"}]}
                """);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> PriceTable.load(Optional.of(file.toString())));
        assertEquals("prices: model claude-opus-4-6: replacement claude-opus-9 is not a model of the table", e.getMessage());
    }
}
