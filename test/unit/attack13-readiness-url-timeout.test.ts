// The readiness barrier gives up after its timeout (readinessTimeoutMs, 120 s by default), each attempt bounded by at
// most 5 s. Since the external databaseUrl's connect_timeout goes with every connection, an attempt waits as long as
// the URL says instead, and connect_timeout=0 (libpq: wait indefinitely) waits without end: a server that takes the
// TCP connection and never answers (a proxy whose backend is down, a half-open firewall) holds `pulumi up` past the
// barrier's timeout, where it used to fail after it naming the server.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatabaseNotReadyError, waitForDatabase } from "../../engine/db/readiness";
import { parseConnectionUrl } from "../../engine/db/url";

let server: Server;
const sockets: Socket[] = [];
let port: number;

beforeAll(async () => {
    // Takes connections and never says a word.
    server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    port = (server.address() as { port: number }).port;
});

afterAll(async () => {
    sockets.forEach((socket) => socket.destroy());
    await new Promise((done) => server.close(done));
});

describe("the readiness barrier against a server that never answers", () => {
    it.each(["0", "30"])(
        "gives up after its own timeout with a URL's connect_timeout=%s",
        async (timeout) => {
            const settings = parseConnectionUrl(`postgresql://owner:secret@127.0.0.1:${port}/app?connect_timeout=${timeout}`);
            const started = Date.now();

            const error = await waitForDatabase(settings, { timeoutMs: 1_000 }).catch((caught: unknown) => caught);

            expect(error).toBeInstanceOf(DatabaseNotReadyError);
            expect(Date.now() - started).toBeLessThan(5_000);
        },
        15_000,
    );
});
