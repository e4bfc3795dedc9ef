package dev.tollgate.metering;

/**
 * What changes one call's price besides its tokens (digest §2.3, §7.3): the service tier it ran
 * in ("batch" is half price), where inference ran ("us" costs the model's US-only multiplier) and
 * its speed ("fast" costs the model's fast-mode rates). Null means not said: the upstream did not
 * report it, or the request did not ask for it.
 */
public record PriceModifiers(String serviceTier, String inferenceGeo, String speed) {

    public static final PriceModifiers NONE = new PriceModifiers(null, null, null);

    /**
     * The modifiers to bill: each one as the upstream reported it applied (it may have served a
     * fast request at standard speed), and what the request asked for where the upstream is silent.
     */
    public PriceModifiers orElse(PriceModifiers requested) {
        return new PriceModifiers(serviceTier != null ? serviceTier : requested.serviceTier,
                inferenceGeo != null ? inferenceGeo : requested.inferenceGeo,
                speed != null ? speed : requested.speed);
    }

    public boolean batch() {
        return "batch".equals(serviceTier);
    }

    public boolean usOnly() {
        return "us".equals(inferenceGeo);
    }

    public boolean fast() {
        return "fast".equals(speed);
    }
}
