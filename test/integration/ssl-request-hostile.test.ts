// sslmode=prefer's own SSLRequest (engine/db/ssl-request.ts) against servers that answer it badly: an
// ErrorResponse, a close, 'S' with bytes stuffed after it, a TLS handshake that breaks or hangs, a reset
// right after the answer. Each must end in a clear error or a plain connection, within connect_timeout,
// and never in an unhandled 'error' event or rejection.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createConnection, createServer, Socket, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../engine/db/client";
import { parseConnectionUrl } from "../../engine/db/url";
import { sharedServer } from "../support/database";
import { startTlsServer, tlsServerUnavailable, type TlsServer } from "../support/tls-server";

const APP = { applicationName: "memory-stack-ssl-hostile-test" };

type OnSslRequest = (client: Socket) => void;

/** A server whose answer to an SSLRequest is `onSslRequest`'s; any other first message goes to the real server (or, if `silentPlain`, nowhere). */
async function hostile(onSslRequest: OnSslRequest, silentPlain = false): Promise<{ server: Server; port: number; sockets: Socket[] }> {
    const real = sharedServer();
    const sockets: Socket[] = [];
    const server = createServer((client) => {
        sockets.push(client);
        client.on("error", () => undefined);
        client.once("data", (first) => {
            if (first.length === 8 && first.readUInt32BE(4) === 80877103) {
                onSslRequest(client);
                return;
            }
            if (silentPlain) {
                return;
            }
            const upstream = createConnection(real.port, real.host, () => {
                upstream.write(first);
                client.pipe(upstream).pipe(client);
            });
            upstream.on("error", () => client.destroy());
            client.on("close", () => upstream.destroy());
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { server, port: (server.address() as { port: number }).port, sockets };
}

/** An ErrorResponse as a server sends it when it cannot take the connection. */
function errorResponse(code: string, message: string): Buffer {
    const fields = Buffer.from(`SFATAL\0C${code}\0M${message}\0\0`);
    const head = Buffer.alloc(5);
    head.write("E");
    head.writeUInt32BE(fields.length + 4, 1);
    return Buffer.concat([head, fields]);
}

/** Counts the TCP connections this process starts (negotiateTls and pg both go through Socket#connect). */
function countSocketConnects(): { count(): number; restore(): void } {
    const original = Socket.prototype.connect;
    let count = 0;
    Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
        count++;
        return (original as (...a: unknown[]) => Socket).apply(this, args);
    } as typeof original;
    return { count: () => count, restore: () => void (Socket.prototype.connect = original) };
}

const unhandled: unknown[] = [];
const record = (error: unknown) => unhandled.push(error);
beforeAll(() => {
    process.on("uncaughtException", record);
    process.on("unhandledRejection", record);
});
afterAll(() => {
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
});

let running: Awaited<ReturnType<typeof hostile>> | undefined;
afterEach(async () => {
    running?.sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => (running ? running.server.close(() => resolve()) : resolve()));
    running = undefined;
    expect(unhandled).toEqual([]);
});

async function attempt(onSslRequest: OnSslRequest, query = "sslmode=prefer", silentPlain = false) {
    running = await hostile(onSslRequest, silentPlain);
    const real = sharedServer();
    const url = `postgresql://${real.user}:${encodeURIComponent(real.password)}@127.0.0.1:${running.port}/postgres?${query}`;
    const started = Date.now();
    try {
        const client = await connect(parseConnectionUrl(url), APP);
        try {
            const { rows } = await client.query<{ ssl: boolean }>("select ssl from pg_stat_ssl where pid = pg_backend_pid()");
            return { ssl: rows[0].ssl, error: undefined, waited: Date.now() - started };
        } finally {
            await client.end();
        }
    } catch (error) {
        return { ssl: undefined, error: error as Error, waited: Date.now() - started };
    }
}

describe("sslmode=prefer against a server that answers the SSLRequest badly", () => {
    it("an ErrorResponse (too many connections) before any TLS: retried plainly, connects", async () => {
        const result = await attempt((client) => client.end(errorResponse("53300", "sorry, too many clients already")));
        expect(result.error).toBeUndefined();
        expect(result.ssl).toBe(false);
    });

    it("a close right after the SSLRequest: retried plainly, connects", async () => {
        const result = await attempt((client) => client.end());
        expect(result.error).toBeUndefined();
        expect(result.ssl).toBe(false);
    });

    // Fails on 6f03f86, which went on with a plain retry: libpq refuses outright (CVE-2021-23222).
    it("'S' with bytes stuffed after it: refused as libpq refuses, with no plain retry and the bytes never read", async () => {
        const stuffed = Buffer.concat([Buffer.from("S"), errorResponse("XX000", "stuffed")]);
        const result = await attempt((client) => client.write(stuffed));
        expect(result.error?.message).toMatch(/^received unencrypted data after SSL response/);
        expect(running?.sockets).toHaveLength(1);
    });

    it("'S' and then garbage instead of a TLS handshake: retried plainly, connects", async () => {
        const result = await attempt((client) => {
            client.write("S");
            client.once("data", () => client.end(Buffer.from("this is not TLS\n")));
        });
        expect(result.error).toBeUndefined();
        expect(result.ssl).toBe(false);
    });

    it("'S' and then a reset during the handshake: retried plainly, connects", async () => {
        const result = await attempt((client) => {
            client.write("S");
            client.once("data", () => client.resetAndDestroy());
        });
        expect(result.error).toBeUndefined();
        expect(result.ssl).toBe(false);
    });

    it("'S' and then a hung handshake: gives up after connect_timeout, saying so", async () => {
        const result = await attempt((client) => client.write("S"), "sslmode=prefer&connect_timeout=2");
        expect(String(result.error)).toMatch(/timeout/i);
        expect(result.waited).toBeGreaterThanOrEqual(1_900);
        expect(result.waited).toBeLessThan(5_000);
    });

    it("'N' and then a reset before pg's startup: retried plainly at once, not after the timeout", async () => {
        const result = await attempt((client) => {
            client.write("N");
            client.resetAndDestroy();
        }, "sslmode=prefer&connect_timeout=10");
        expect(result.error).toBeUndefined();
        expect(result.ssl).toBe(false);
        expect(result.waited).toBeLessThan(5_000);
    });

    // Made a second plain connection on a2d8295 and before, which pg_hba.conf refused the same way; libpq stops.
    it("'N' and then a pg_hba.conf refusal of the plain connection: reported, with no second connection", async () => {
        const result = await attempt((client) => {
            client.write("N");
            client.once("data", () => client.end(errorResponse("28000", 'no pg_hba.conf entry for host "127.0.0.1", no encryption')));
        });
        expect(result.error?.message).toBe('no pg_hba.conf entry for host "127.0.0.1", no encryption');
        expect(running?.sockets).toHaveLength(1);
    });

    // Tried twice on a2d8295 and before (a second DNS lookup for a name that does not resolve); libpq goes to the next address.
    it("a port nothing listens on: one attempt, refused", async () => {
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const { port } = closed.address() as { port: number };
        await new Promise<void>((resolve) => closed.close(() => resolve()));
        const connectCalls = countSocketConnects();
        try {
            const error = await connect(parseConnectionUrl(`postgresql://u:p@127.0.0.1:${port}/d?sslmode=prefer`), APP).then(
                () => undefined,
                (failure: unknown) => failure as NodeJS.ErrnoException,
            );
            expect(error?.code).toBe("ECONNREFUSED");
            expect(connectCalls.count()).toBe(1);
        } finally {
            connectCalls.restore();
        }
    });

    it("no answer at all: gives up after connect_timeout", async () => {
        const result = await attempt(() => undefined, "sslmode=prefer&connect_timeout=2");
        expect(String(result.error)).toMatch(/timeout/i);
        expect(result.waited).toBeLessThan(5_000);
    });

    // Fails on 6f03f86: the plain retry started a fresh connect_timeout, so a handshake that broke late
    // plus a silent plain attempt waited nearly twice the URL's bound (libpq bounds both attempts by one).
    it("connect_timeout bounds the TLS attempt and the plain retry together", async () => {
        const result = await attempt(
            (client) => {
                client.write("S");
                client.once("data", () => setTimeout(() => client.resetAndDestroy(), 1_500));
            },
            "sslmode=prefer&connect_timeout=2",
            true,
        );
        expect(String(result.error)).toMatch(/timeout/i);
        expect(result.waited).toBeLessThan(2_800);
    });
});

// Fails on 6f03f86: connect_timeout=0 (libpq: wait as long as the network does) became a 0 ms timer
// and a 1 ms pg timeout, so every connection failed with "timeout expired", whatever the sslmode.
describe.each(["disable", "prefer", "allow"])("connect_timeout=0 with sslmode=%s", (mode) => {
    it("waits without a bound and connects", async () => {
        const real = sharedServer();
        const url = `postgresql://${real.user}:${encodeURIComponent(real.password)}@${real.host}:${real.port}/postgres?sslmode=${mode}&connect_timeout=0`;
        const client = await connect(parseConnectionUrl(url), APP);
        try {
            expect((await client.query<{ one: number }>("select 1 as one")).rows).toEqual([{ one: 1 }]);
        } finally {
            await client.end();
        }
    });
});

const unavailable = tlsServerUnavailable();
if (unavailable) {
    it.skip(`sslmode=prefer against a TLS server: ${unavailable}`, () => undefined);
}

describe.skipIf(unavailable !== undefined)("sslmode=prefer against a server with TLS, by every way of naming it", () => {
    let server: TlsServer;
    // A password with every character a URL gives a meaning to.
    const password = "p@ss#w%rd/:?&=";
    const user = "ssl_hostile_user";
    const url = (host: string, query: string) =>
        `postgresql://${user}:${encodeURIComponent(password)}@${host}:${server.port}/postgres?sslmode=prefer${query}`;

    beforeAll(async () => {
        server = await startTlsServer();
        const admin = await connect(
            parseConnectionUrl(`postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/postgres`),
            APP,
        );
        try {
            await admin.query(`create role ${user} login password '${password}'`);
            await admin.query(`grant pg_read_all_stats to ${user}`);
        } finally {
            await admin.end();
        }
    });

    afterAll(async () => {
        await server?.stop();
    });

    async function tlsOf(target: string): Promise<boolean> {
        const client = await connect(parseConnectionUrl(target), APP);
        try {
            return (await client.query<{ ssl: boolean }>("select ssl from pg_stat_ssl where pid = pg_backend_pid()")).rows[0].ssl;
        } finally {
            await client.end();
        }
    }

    it.each(["127.0.0.1", "[::1]", "localhost"])("encrypts on %s, with a password full of URL characters", async (host) => {
        expect(await tlsOf(url(host, ""))).toBe(true);
    });

    it("with sslrootcert, encrypts when the chain checks out", async () => {
        expect(await tlsOf(url("localhost", `&sslrootcert=${encodeURIComponent(server.caFile)}`))).toBe(true);
    });

    it("with an sslrootcert the certificate does not chain to, falls back to plain as libpq does, and says nothing secret", async () => {
        const other = join(mkdtempSync(join(tmpdir(), "memory-stack-other-ca-")), "ca.crt");
        execFileSync(
            "openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other", "-keyout", `${other}.key`, "-out", other],
            {
                stdio: "ignore",
            },
        );
        expect(await tlsOf(url("localhost", `&sslrootcert=${encodeURIComponent(other)}`))).toBe(false);
        const refused = await tlsOf(
            url("localhost", `&sslrootcert=${encodeURIComponent(other)}`).replace("/postgres?", "/ssl_only?"),
        ).catch((error: unknown) => error as Error);
        expect(String(refused)).toMatch(/no encryption|self.signed|certificate/i);
        expect(String(refused)).not.toContain(password);
        expect(String(refused)).not.toContain(encodeURIComponent(password));
    });
});

// Fails on 6f03f86: a refusal (28000) was retried on a second connection, and with allow that second
// attempt sent an SSLRequest down the socket and reported its failure instead of the refusal.
describe("on a unix socket (?host=/dir)", () => {
    it.each(["prefer", "allow"])("sslmode=%s asks for no TLS and connects once, as libpq", async (mode) => {
        const dir = mkdtempSync(join(tmpdir(), "memory-stack-socket-"));
        const firsts: Buffer[] = [];
        const server = createServer((client) => {
            client.on("error", () => undefined);
            client.once("data", (first) => {
                firsts.push(first);
                client.end(errorResponse("28000", "no entry for this test"));
            });
        });
        await new Promise<void>((resolve) => server.listen(join(dir, ".s.PGSQL.5432"), resolve));
        try {
            const url = `postgresql://u:pw@/postgres?host=${encodeURIComponent(dir)}&sslmode=${mode}&connect_timeout=5`;
            await expect(connect(parseConnectionUrl(url), APP)).rejects.toThrow(/no entry for this test/);
            // Protocol 3.0 (196608), never 80877103 (SSLRequest).
            expect(firsts.map((first) => first.readUInt32BE(4))).toEqual([196608]);
        } finally {
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    });
});
