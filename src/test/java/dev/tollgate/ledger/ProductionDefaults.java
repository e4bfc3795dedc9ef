package dev.tollgate.ledger;

import io.quarkus.test.junit.QuarkusTestProfile;

import java.util.Map;

/** The production settlement and reserve settings (the default test profile holds and settles each call on its own). */
public class ProductionDefaults implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("tollgate.settlement.before-response", "false", "tollgate.holds.reserve-calls", "64");
    }
}
