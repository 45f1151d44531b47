// The connection strings the stack exports (connectionString, appConnectionString, dotenv's lines) are for the
// application, and mean what they mean to libpq (SPEC §11). The external stack's default sslMode is require: TLS
// without checking the certificate, which a managed server's private CA (Supabase's direct connections) needs. pg
// (node-postgres) reads sslmode=require as verify-full, and libpq refuses pg's own spellings for "no check": no one
// string serves both. What serves both is the server's CA in the URL (databaseUrl's sslrootcert, carried to every
// exported string): libpq then checks the certificate against it, as pg does. README's Outputs section says so.
import { execFile } from "node:child_process";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { connectionUrl } from "../../engine/db/url";
import { startTlsServer, tlsServerUnavailable, type TlsServer } from "../support/tls-server";

const unavailable = tlsServerUnavailable();

/** Whether psql (libpq) opens a TLS session with `url`: "t", or its error. */
function psqlSsl(url: string): Promise<string> {
    return new Promise((resolve) => {
        execFile("psql", [url, "-Atc", "select ssl from pg_stat_ssl where pid = pg_backend_pid()"], (error, stdout, stderr) => {
            resolve(error ? stderr.trim() : stdout.trim());
        });
    });
}

/** Whether pg, given `url` as an application gives it (new Client({ connectionString })), opens a TLS session: true, or its error. */
async function pgSsl(url: string): Promise<boolean | string> {
    const client = new Client({ connectionString: url });
    try {
        await client.connect();
        return (await client.query<{ ssl: boolean }>("select ssl from pg_stat_ssl where pid = pg_backend_pid()")).rows[0].ssl;
    } catch (error) {
        return (error as Error).message;
    } finally {
        await client.end().catch(() => undefined);
    }
}

if (unavailable !== undefined) {
    describe("the external stack's connection strings", () => {
        it.skip(`TLS server tests: ${unavailable}`, () => undefined);
    });
}

describe.skipIf(unavailable !== undefined)(
    "the external stack's connection strings, against a server whose certificate no public CA signed",
    () => {
        let server: TlsServer;

        beforeAll(async () => {
            server = await startTlsServer();
        });

        afterAll(async () => {
            await server?.stop();
        });

        // The stack's owner URL as components/server.ts and components/memory-stack.ts build it from this config; `query`: the
        // databaseUrl's own parameters.
        function exportedUrl(query = ""): string {
            const config = parseConfig({
                provisioner: "external",
                databaseUrl: `postgresql://${server.user}:${encodeURIComponent(server.password)}@localhost:${server.port}/ssl_only${query}`,
            });
            return connectionUrl({
                host: config.host,
                port: config.hostPort,
                database: config.database,
                user: config.user,
                password: config.password!,
                sslMode: config.sslMode,
                ...(config.sslRootCert === undefined ? {} : { sslRootCert: config.sslRootCert }),
            });
        }

        it("connect over TLS through libpq, without a CA file, as sslmode=require means", async () => {
            expect(exportedUrl()).toContain("sslmode=require");
            expect(await psqlSsl(exportedUrl())).toBe("t");
        });

        // pg refuses the certificate given require alone ("self-signed certificate"): the README's advice is the CA.
        it("is refused by pg with require alone, as pg documents it", async () => {
            expect(await pgSsl(exportedUrl())).toMatch(/certificate/);
        });

        it("connect over TLS through libpq and pg alike once the URL names the server's CA (sslrootcert)", async () => {
            const url = exportedUrl(`?sslmode=verify-ca&sslrootcert=${encodeURIComponent(server.caFile)}`);
            expect(url).toContain("sslrootcert=");
            expect(await psqlSsl(url)).toBe("t");
            expect(await pgSsl(url)).toBe(true);
        });
    },
);
