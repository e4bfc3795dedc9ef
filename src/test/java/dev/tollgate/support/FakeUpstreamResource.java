package dev.tollgate.support;

import dev.tollgate.testing.FakeUpstream;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.util.Map;

/** Starts the fake Anthropic upstream once and points the gateway at it. */
public class FakeUpstreamResource implements QuarkusTestResourceLifecycleManager {

    private static FakeUpstream fake;

    public static FakeUpstream fake() {
        return fake;
    }

    @Override
    public Map<String, String> start() {
        if (fake == null) {
            fake = FakeUpstream.start();
        }
        return Map.of(
                "tollgate.upstream.base-url", fake.baseUrl(),
                "tollgate.upstream.api-key", FakeUpstream.API_KEY,
                "tollgate.upstream.response-timeout", "3s",
                "tollgate.upstream.stream-idle-timeout", "3s");
    }

    @Override
    public void stop() {
        // Shared by every test class of the run; the JVM's exit closes it.
    }
}
