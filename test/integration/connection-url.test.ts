// Connection URLs mean what they mean to libpq, against real servers: sslmode's fallbacks, IPv6,
// connect_timeout, a missing password.
import { mkdtempSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, NoPasswordError } from "../../engine/db/client";
import { parseConnectionUrl } from "../../engine/db/url";
import { sharedServer } from "../support/database";
import { selfSignedCertificate, startTlsServer, tlsServerUnavailable, type TlsServer } from "../support/tls-server";

const APP = { applicationName: "memory-stack-url-test" };

/** Whether the session `url` opens runs over TLS, by the server's own account (pg_stat_ssl). */
async function sessionUsesTls(url: string): Promise<boolean> {
    const client = await connect(parseConnectionUrl(url), APP);
    try {
        return (await client.query<{ ssl: boolean }>("select ssl from pg_stat_ssl where pid = pg_backend_pid()")).rows[0].ssl;
    } finally {
        await client.end();
    }
}

describe("against a server without TLS", () => {
    const base = () => {
        const server = sharedServer();
        return `postgresql://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/postgres`;
    };

    it("sslmode=prefer falls back to a plain connection, as libpq does", async () => {
        expect(await sessionUsesTls(`${base()}?sslmode=prefer`)).toBe(false);
    });

    it("sslmode=prefer goes on in plain text on the connection that asked for TLS: one connection, as libpq", async () => {
        // Passes every connection through to the server, counting them.
        const server = sharedServer();
        let connections = 0;
        const proxy = createServer((client) => {
            connections += 1;
            const upstream = createConnection(server.port, server.host);
            client.pipe(upstream).pipe(client);
            upstream.on("error", () => client.destroy());
            client.on("error", () => upstream.destroy());
        });
        await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
        try {
            const { port } = proxy.address() as { port: number };
            const url = `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${port}/postgres?sslmode=prefer`;
            expect(await sessionUsesTls(url)).toBe(false);
            expect(connections).toBe(1);
        } finally {
            await new Promise<void>((resolve) => proxy.close(() => resolve()));
        }
    });

    it("sslmode=allow connects plainly", async () => {
        expect(await sessionUsesTls(`${base()}?sslmode=allow`)).toBe(false);
    });

    it("sslmode=require fails, saying the server has no TLS", async () => {
        await expect(sessionUsesTls(`${base()}?sslmode=require`)).rejects.toThrow("The server does not support SSL connections");
    });

    it("a URL without a password says so plainly when the server asks for one", async () => {
        const server = sharedServer();
        const settings = parseConnectionUrl(`postgresql://${server.user}@${server.host}:${server.port}/postgres`);
        const error = await connect(settings, APP).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(NoPasswordError);
        expect((error as Error).message).toMatch(
            /asks .* for a password, and the connection has none: put it in the URL .* or set PGPASSWORD/,
        );
    });
});

describe("a connection that breaks during TLS negotiation", () => {
    let proxy: Server;

    beforeAll(async () => {
        // Resets a connection whose first message is an SSLRequest (length 8, code 80877103); passes any other to the server.
        const server = sharedServer();
        proxy = createServer((client) => {
            client.once("data", (first) => {
                if (first.length === 8 && first.readUInt32BE(4) === 80877103) {
                    client.resetAndDestroy();
                    return;
                }
                const upstream = createConnection(server.port, server.host, () => {
                    upstream.write(first);
                    client.pipe(upstream).pipe(client);
                });
                upstream.on("error", () => client.destroy());
                client.on("error", () => upstream.destroy());
            });
        });
        await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    });

    afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

    const through = (mode: string) => {
        const server = sharedServer();
        const { port } = proxy.address() as { port: number };
        return `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${port}/postgres?sslmode=${mode}`;
    };

    it("sslmode=prefer retries plainly and connects, as libpq does", async () => {
        expect(await sessionUsesTls(through("prefer"))).toBe(false);
    });

    it("sslmode=require reports the broken connection", async () => {
        await expect(sessionUsesTls(through("require"))).rejects.toThrow(/ECONNRESET/);
    });
});

describe("connect_timeout", () => {
    let silent: Server;
    const sockets: Socket[] = [];

    beforeAll(async () => {
        // Accepts the connection and never answers: a server that hangs.
        silent = createServer((socket) => sockets.push(socket));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    });

    afterAll(async () => {
        sockets.forEach((socket) => socket.destroy());
        await new Promise((resolve) => silent.close(resolve));
    });

    it("gives up on a silent server after the URL's connect_timeout, not the default", async () => {
        const port = (silent.address() as { port: number }).port;
        const started = Date.now();
        const error = await connect(parseConnectionUrl(`postgresql://u:pw@127.0.0.1:${port}/d?connect_timeout=2&sslmode=disable`), {
            ...APP,
            connectTimeoutMs: 60_000,
        }).catch((caught: unknown) => caught as Error);
        const waited = Date.now() - started;
        expect(String(error)).toMatch(/timeout/i);
        expect(waited).toBeGreaterThanOrEqual(1_900);
        expect(waited).toBeLessThan(30_000);
    });

    it("bounds sslmode=prefer's TLS handshake too: a server that agrees to TLS and then hangs is a timeout, not a plain retry", async () => {
        // Answers the SSLRequest with 'S' and then says nothing; counts the connections made to it.
        let connections = 0;
        const agreeing = createServer((socket) => {
            connections += 1;
            sockets.push(socket);
            socket.once("data", () => socket.write("S"));
        });
        await new Promise<void>((resolve) => agreeing.listen(0, "127.0.0.1", resolve));
        try {
            const port = (agreeing.address() as { port: number }).port;
            const started = Date.now();
            const error = await connect(parseConnectionUrl(`postgresql://u:pw@127.0.0.1:${port}/d?connect_timeout=2&sslmode=prefer`), {
                ...APP,
                connectTimeoutMs: 60_000,
            }).catch((caught: unknown) => caught as Error);
            const waited = Date.now() - started;
            expect(String(error)).toMatch(/timeout/i);
            expect(connections).toBe(1);
            expect(waited).toBeGreaterThanOrEqual(1_900);
            expect(waited).toBeLessThan(30_000);
        } finally {
            await new Promise((resolve) => agreeing.close(resolve));
        }
    });
});

const unavailable = tlsServerUnavailable();
if (unavailable) {
    it.skip(`TLS and IPv6 connection tests: ${unavailable}`, () => undefined);
}

describe.skipIf(unavailable !== undefined)("against a server with TLS, on 127.0.0.1 and ::1", () => {
    let server: TlsServer;
    const url = (host: string, database: string, query: string) =>
        `postgresql://${server.user}:${encodeURIComponent(server.password)}@${host}:${server.port}/${database}?${query}`;

    beforeAll(async () => {
        server = await startTlsServer();
    });

    afterAll(async () => {
        await server?.stop();
    });

    it("sslmode=prefer encrypts when the server can", async () => {
        expect(await sessionUsesTls(url("127.0.0.1", "postgres", "sslmode=prefer"))).toBe(true);
    });

    it("sslmode=prefer falls back to plain where pg_hba.conf refuses TLS", async () => {
        expect(await sessionUsesTls(url("127.0.0.1", "plain_only", "sslmode=prefer"))).toBe(false);
    });

    it("sslmode=allow connects plainly first, and with TLS where pg_hba.conf demands it", async () => {
        expect(await sessionUsesTls(url("127.0.0.1", "postgres", "sslmode=allow"))).toBe(false);
        expect(await sessionUsesTls(url("127.0.0.1", "ssl_only", "sslmode=allow"))).toBe(true);
    });

    it("sslmode=disable never encrypts, and so cannot reach a TLS-only database", async () => {
        await expect(sessionUsesTls(url("127.0.0.1", "ssl_only", "sslmode=disable"))).rejects.toThrow(
            /pg_hba.conf rejects connection .* no encryption/,
        );
    });

    it("sslmode=require encrypts without checking the self-signed certificate", async () => {
        expect(await sessionUsesTls(url("127.0.0.1", "postgres", "sslmode=require"))).toBe(true);
    });

    it("sslmode=verify-full checks the certificate: refused without its CA, accepted with sslrootcert for the name it carries", async () => {
        await expect(sessionUsesTls(url("localhost", "postgres", "sslmode=verify-full"))).rejects.toThrow(/self.signed/i);
        const withCa = `sslmode=verify-full&sslrootcert=${encodeURIComponent(server.caFile)}`;
        expect(await sessionUsesTls(url("localhost", "postgres", withCa))).toBe(true);
        await expect(sessionUsesTls(url("127.0.0.1", "postgres", withCa))).rejects.toThrow(/IP: 127.0.0.1 is not in the cert's list/);
    });

    // libpq passes over a root certificate file that does not exist, except under verify-ca and verify-full; one that
    // exists is checked against under require too (a CA that did not sign the server's certificate is refused).
    it("an sslrootcert that does not exist is passed over by prefer and require, and refused by verify-ca", async () => {
        const missing = `sslrootcert=${encodeURIComponent("/nonexistent/memory-stack-ca.crt")}`;
        expect(await sessionUsesTls(url("127.0.0.1", "postgres", `sslmode=require&${missing}`))).toBe(true);
        expect(await sessionUsesTls(url("127.0.0.1", "postgres", `sslmode=prefer&${missing}`))).toBe(true);
        expect(() => parseConnectionUrl(url("127.0.0.1", "postgres", `sslmode=verify-ca&${missing}`))).toThrow(
            /SSL file that cannot be read \(ENOENT\)/,
        );
        const otherCa = `sslrootcert=${encodeURIComponent(selfSignedCertificate(mkdtempSync(join(tmpdir(), "memory-stack-other-ca-"))).cert)}`;
        await expect(sessionUsesTls(url("127.0.0.1", "postgres", `sslmode=require&${otherCa}`))).rejects.toThrow(
            /self.signed|unable to verify/i,
        );
    });

    it("reaches an IPv6 host written in brackets", async () => {
        expect(await sessionUsesTls(url("[::1]", "postgres", "sslmode=disable"))).toBe(false);
    });
});
