package dev.tollgate.support;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URL;
import java.nio.charset.StandardCharsets;

/** A raw HTTP/1.1 client for calls whose reading, or leaving, a test controls byte by byte. */
public final class RawClient {

    private RawClient() {
    }

    /** Connected with a small receive buffer, so that a pause in reading soon pushes back on the gateway. */
    public static Socket open(URL url) throws Exception {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(8 * 1024);
        socket.connect(new InetSocketAddress(url.getHost(), url.getPort()));
        return socket;
    }

    /** Sends one POST /v1/messages with the key as x-api-key; the response is left to the caller. */
    public static void send(Socket socket, String key, String body) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("POST /v1/messages HTTP/1.1\r\nHost: localhost\r\nx-api-key: " + key
                + "\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\nconnection: close\r\n"
                + "content-length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
    }
}
