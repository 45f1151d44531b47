// libpq's sslmode=prefer on one connection. pg asks a server for TLS with an SSLRequest and, when the
// server answers that it has none ('N'), drops the connection and fails; libpq goes on in plain text
// on that same connection. Opening another costs a TCP handshake and a server process started and
// stopped for nothing: a few milliseconds of every CLI start against a server without TLS, which is
// the dev container's default. So for prefer the SSLRequest is sent here, and pg is handed the
// connection as it then is: with TLS set up ('S') or plain ('N').
import { connect as tcpConnect, isIP, type Socket } from "node:net";
import type { ConnectionOptions } from "node:tls";

// Int32 length 8, Int32 80877103: the protocol's SSLRequest.
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * 'S' and more bytes after it: bytes sent before the handshake would be read as if TLS had protected
 * them (CVE-2021-23222). libpq gives up then, without the plain retry of prefer: so does connect().
 */
export class UnencryptedDataError extends Error {
    constructor() {
        super("received unencrypted data after SSL response: the server (or something between) sent bytes it must not send");
        this.name = "UnencryptedDataError";
    }
}

/**
 * A TCP connection to host:port past the SSLRequest, with TLS when the server has it, for pg to speak on
 * (it must not connect it again: see handOver); rejects when the TLS handshake the server agreed to
 * fails. timeoutMs 0: no timeout.
 */
export async function negotiateTls(host: string, port: number, tls: ConnectionOptions, timeoutMs: number): Promise<Socket> {
    const socket = tcpConnect({ host, port });
    const timer = timeoutMs > 0 ? setTimeout(() => socket.destroy(new Error("timeout expired")), timeoutMs) : undefined;
    try {
        await event(socket, "connect");
        socket.setNoDelay(true);
        socket.write(SSL_REQUEST);
        const [answer] = (await event(socket, "data")) as [Buffer];
        if (answer[0] === 0x53 && answer.length > 1) {
            throw new UnencryptedDataError();
        }
        // Else one byte, 'S' or 'N'; anything other (an ErrorResponse: no backend to spare) ends this attempt.
        if (answer.length !== 1 || (answer[0] !== 0x53 && answer[0] !== 0x4e)) {
            throw new Error("There was an error establishing an SSL connection");
        }
        if (answer[0] === 0x4e) {
            return handOver(socket);
        }
        // node:tls is loaded only for a server that has TLS: a plain connection (the dev container's) never needs it.
        const { connect: tlsConnect } = await import("node:tls");
        const secure = tlsConnect({ ...tls, socket, host, ...(isIP(host) === 0 ? { servername: host } : {}) });
        await event(secure, "secureConnect");
        return handOver(secure);
    } catch (error) {
        socket.destroy();
        throw error;
    } finally {
        clearTimeout(timer);
    }
}

/** Resolves with the event's arguments, rejects on the socket's error or close. */
function event(socket: Socket, name: string): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
        const done = (settle: () => void) => () => {
            socket.off(name, onEvent).off("error", onError).off("close", onClose);
            settle();
        };
        const onEvent = (...args: unknown[]) => done(() => resolve(args))();
        const onError = (error: Error) => done(() => reject(error))();
        const onClose = () => done(() => reject(new Error("Connection terminated unexpectedly")))();
        socket.once(name, onEvent).once("error", onError).once("close", onClose);
    });
}

// pg connects the stream it is given (connect(port, host), then waits for "connect"): this one is
// connected already, so connecting it again only says so. Until pg listens for its errors, an error is
// not thrown at the process: pg meets it as a broken stream.
function handOver(stream: Socket): Socket {
    stream.on("error", () => undefined);
    stream.connect = (() => {
        process.nextTick(() => stream.emit("connect"));
        return stream;
    }) as Socket["connect"];
    return stream;
}
