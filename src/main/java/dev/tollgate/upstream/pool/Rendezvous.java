package dev.tollgate.upstream.pool;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;

/**
 * Weighted rendezvous (highest-random-weight) hashing: each upstream scores
 * {@code -weight / ln(u)}, with {@code u} in (0,1) a hash of the stickiness key and the upstream's
 * id, and the calls of one key go to the highest score. Every instance computes the same order
 * with no shared state, a key's share follows the weights, and removing an upstream moves only
 * the keys it held (the others' scores do not change). Pure and deterministic across JVMs.
 */
final class Rendezvous {

    private Rendezvous() {
    }

    /** The upstreams in the order to try them: lowest priority first, then by descending score. */
    static List<Upstream> order(List<Upstream> upstreams, String stickinessKey) {
        byte[] key = stickinessKey.getBytes(StandardCharsets.UTF_8);
        List<Scored> scored = new ArrayList<>(upstreams.size());
        for (Upstream u : upstreams) {
            scored.add(new Scored(u, score(key, u.id(), u.weight())));
        }
        scored.sort(Comparator.comparingInt((Scored s) -> s.upstream().priority())
                .thenComparing(Comparator.comparingDouble(Scored::score).reversed())
                .thenComparing(s -> s.upstream().id()));
        List<Upstream> ordered = new ArrayList<>(scored.size());
        for (Scored s : scored) {
            ordered.add(s.upstream());
        }
        return ordered;
    }

    static double score(byte[] key, UUID upstream, int weight) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the key, then the id mixed in and finalised
        for (byte b : key) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h = mix(h ^ mix(upstream.getMostSignificantBits()) ^ Long.rotateLeft(mix(upstream.getLeastSignificantBits()), 31));
        double u = ((h >>> 11) + 0.5) / (double) (1L << 53); // strictly inside (0,1)
        return -weight / Math.log(u);
    }

    /** SplitMix64's finaliser: every input bit reaches every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private record Scored(Upstream upstream, double score) {
    }
}
