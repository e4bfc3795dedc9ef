package dev.tollgate.upstream.pool;

import dev.tollgate.support.Tollgate;
import dev.tollgate.testing.FakeUpstream;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Three fake Anthropic organizations, each with its own key, registered as upstreams through the
 * admin API. At priority -1, ahead of the configured default (the shared fake), which a test thus
 * reaches only when all three are out.
 */
final class PoolFixture {

    static final String[] NAMES = {"org-a", "org-b", "org-c"};
    private static final Map<String, FakeUpstream> FAKES = new LinkedHashMap<>();

    private PoolFixture() {
    }

    static synchronized FakeUpstream fake(String name) {
        return FAKES.computeIfAbsent(name, n -> FakeUpstream.start(keyOf(n)));
    }

    static String keyOf(String name) {
        return "sk-ant-api03-" + name + "-key-0123456789";
    }

    /** Registers the three fakes (weight 1 unless given) and returns name → upstream as routing sees it. */
    static Map<String, Upstream> register(Map<String, Object> overrides) {
        removeAll();
        Map<String, Upstream> upstreams = new LinkedHashMap<>();
        for (String name : NAMES) {
            FakeUpstream fake = fake(name);
            fake.reset();
            Map<String, Object> body = new HashMap<>(Map.of("name", name, "kind", "anthropic", "base_url", fake.baseUrl(),
                    "api_key", keyOf(name), "priority", -1));
            if (overrides.containsKey(name)) {
                @SuppressWarnings("unchecked")
                Map<String, Object> extra = (Map<String, Object>) overrides.get(name);
                body.putAll(extra);
            }
            String id = Tollgate.admin().body(body).post("/admin/v1/upstreams").then().statusCode(201).extract().path("id");
            int weight = (Integer) body.getOrDefault("weight", 1);
            upstreams.put(name, new Upstream(UUID.fromString(id), name, "anthropic", fake.baseUrl(), null, null, weight,
                    -1, null, null, true, null, false));
        }
        return upstreams;
    }

    /** Deletes every stored upstream, so other tests route to the configured default alone. */
    static void removeAll() {
        List<String> ids = Tollgate.admin().get("/admin/v1/upstreams").then().statusCode(200).extract()
                .jsonPath().getList("data.findAll { !it.configured }.id");
        for (String id : ids) {
            Tollgate.admin().delete("/admin/v1/upstreams/" + id).then().statusCode(204);
        }
    }

    /** A stickiness key whose first choice among {@code upstreams} is {@code first} and second {@code second}. */
    static String userRoutedTo(Map<String, Upstream> upstreams, String first, String second) {
        List<Upstream> all = new ArrayList<>(upstreams.values());
        for (int i = 0; ; i++) {
            String user = "user-" + i;
            List<Upstream> order = Rendezvous.order(all, user);
            if (order.get(0).name().equals(first) && (second == null || order.get(1).name().equals(second))) {
                return user;
            }
        }
    }

    static String body(String user, boolean stream) {
        return "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":50," + (stream ? "\"stream\":true," : "")
                + "\"metadata\":{\"user_id\":\"" + user + "\"},\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    }
}
