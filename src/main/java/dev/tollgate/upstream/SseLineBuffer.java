package dev.tollgate.upstream;

import java.util.Arrays;

/**
 * Frames SSE bytes into lines as they arrive. Chunks may split a line (or a UTF-8 character) at
 * any byte; a line is handed over only once complete, without its "\n" or "\r\n".
 */
public final class SseLineBuffer {

    /** Receives each complete line; the array is reused after the call returns. */
    @FunctionalInterface
    public interface Handler {
        void onLine(byte[] line, int length);
    }

    private static final int MAX_LINE = 64 * 1024 * 1024;

    private byte[] line = new byte[512];
    private int length;

    public void feed(byte[] bytes, int offset, int count, Handler handler) {
        int end = offset + count;
        for (int i = offset; i < end; i++) {
            byte b = bytes[i];
            if (b == '\n') {
                int len = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
                length = 0;
                handler.onLine(line, len);
            } else if (length < MAX_LINE) {
                if (length == line.length) {
                    line = Arrays.copyOf(line, line.length * 2);
                }
                line[length++] = b;
            }
        }
    }

    /** Whether the first {@code len} bytes of {@code line} start with the ASCII {@code prefix}. */
    public static boolean startsWith(byte[] line, int len, String prefix) {
        if (len < prefix.length()) {
            return false;
        }
        for (int i = 0; i < prefix.length(); i++) {
            if (line[i] != prefix.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Whether the first {@code len} bytes of {@code line} contain {@code needle}. */
    public static boolean contains(byte[] line, int len, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= len; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (line[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
