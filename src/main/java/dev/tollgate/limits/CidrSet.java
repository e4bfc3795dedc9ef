package dev.tollgate.limits;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** A set of IPv4/IPv6 ranges in CIDR notation ("203.0.113.0/24", "2001:db8::/32", or one address). */
public final class CidrSet {

    /** Only a literal IPv4 or IPv6 address is looked at (never a name to resolve). */
    private static final java.util.regex.Pattern ADDRESS = java.util.regex.Pattern.compile("[0-9a-fA-F:.]+");

    private record Range(byte[] network, int prefix) {
        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int full = prefix / 8;
            for (int i = 0; i < full; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xFF << (8 - rest) & 0xFF;
            return (address[full] & mask) == (network[full] & mask);
        }
    }

    private final List<Range> ranges;
    private final List<String> text;

    private CidrSet(List<Range> ranges, List<String> text) {
        this.ranges = ranges;
        this.text = text;
    }

    /** @throws IllegalArgumentException naming the first entry that is not a CIDR range */
    public static CidrSet parse(List<String> entries) {
        List<Range> ranges = new ArrayList<>();
        for (String entry : entries) {
            String[] parts = entry.trim().split("/", 2);
            if (!parts[0].matches("[0-9a-fA-F:.]+")) {
                throw new IllegalArgumentException("'" + entry + "' is not an IP address or CIDR range");
            }
            byte[] network;
            try {
                network = InetAddress.getByName(parts[0]).getAddress(); // literal only: no lookup for [0-9a-f:.]
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("'" + entry + "' is not an IP address or CIDR range");
            }
            int max = network.length * 8;
            int prefix;
            try {
                prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : max;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + entry + "' has an invalid prefix length");
            }
            if (prefix < 0 || prefix > max) {
                throw new IllegalArgumentException("'" + entry + "' has a prefix length outside 0.." + max);
            }
            ranges.add(new Range(network, prefix));
        }
        return new CidrSet(List.copyOf(ranges), List.copyOf(entries));
    }

    public boolean contains(String address) {
        if (ranges.isEmpty() || address == null || !ADDRESS.matcher(address).matches()) {
            return false;
        }
        try {
            byte[] bytes = InetAddress.getByName(address).getAddress();
            for (Range r : ranges) {
                if (r.contains(bytes)) {
                    return true;
                }
            }
            return false;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    public List<String> entries() {
        return text;
    }
}
