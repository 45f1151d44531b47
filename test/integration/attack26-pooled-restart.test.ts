// Agents on the pooled URL across a change of the owner's password: the server's container is replaced (delete-first),
// so PgBouncer's server logins fail while it is down. PgBouncer then refuses every client ("server login has been
// failing, try again later") until server_login_retry has passed since the last failure, 15 s by default: agents
// were refused for about that long after the server was back and healthy. The rendered pgbouncer.ini retries after
// 1 s. Debian's PgBouncer on the rendered config, in front of a PostgreSQL 15 of this file's own, crashed and restarted.
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { withClient } from "../support/database";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { loginAs } from "../support/login";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { until } from "../support/poll";
import { scramVerifier } from "../support/scram";

const binary = findPgBouncer();
if (!binary) {
    console.warn(
        "[attack26-pooled-restart.test] SKIPPED: pgbouncer is not on PATH nor in /usr/sbin; install it with `apt-get install -y pgbouncer`.",
    );
}
const APP = { name: "memory_app", password: "app-password-0123456789abcdef" };
// Well under server_login_retry's default (15 s), well over the 1 s rendered: a loaded machine keeps the margin.
const BACK_WITHIN_MS = 8_000;

let server: RunningServer;
let bouncer: RunningPgBouncer;

/** One query as a new pooled client: "ok", or the error's message. */
async function pooledQuery(): Promise<string> {
    const config: ClientConfig = {
        host: bouncer.host,
        port: bouncer.port,
        user: APP.name,
        password: APP.password,
        database: "ybryx",
        query_timeout: 3_000,
        connectionTimeoutMillis: 3_000,
    };
    const client = new Client(config);
    client.on("error", () => undefined);
    try {
        await client.connect();
        await client.query("select 1");
        return "ok";
    } catch (error) {
        return (error as Error).message;
    } finally {
        await client.end().catch(() => undefined);
    }
}

describe.skipIf(!binary)("pooled agents across a restart of the server (the owner's password changed)", () => {
    beforeAll(async () => {
        server = await startEmbeddedPostgres();
        const verifier = scramVerifier(APP.password);
        await withClient(
            { host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" },
            async (admin) => {
                await admin.query("create database ybryx");
                await admin.query(`create role ${APP.name} login password '${verifier}'`);
            },
        );
        bouncer = await startPgBouncer({ config: parseConfig({}), server, users: [{ name: APP.name, scramVerifier: verifier }] });
        expect(await pooledQuery()).toBe("ok");
    });

    afterAll(async () => {
        await bouncer?.stop();
        await server?.stop();
    });

    it("get through again within a second or two of the server being back, not server_login_retry's default 15 s", async () => {
        await server.crash();
        expect(await pooledQuery()).not.toBe("ok"); // PgBouncer's login fails while the server is down
        await server.restart();
        await until("the server to accept direct logins", async () =>
            (await loginAs({ host: server.host, port: server.port, user: server.user, password: server.password, database: "ybryx" })) ===
            server.user
                ? true
                : undefined,
        );

        const refusals: string[] = [];
        await until(
            "a pooled query to get through",
            async () => {
                const outcome = await pooledQuery();
                return outcome === "ok" ? true : (refusals.push(outcome), undefined);
            },
            BACK_WITHIN_MS,
        );

        expect(bouncer.ini).toMatch(/^server_login_retry = 1$/m);
        expect(refusals.filter((message) => !/server login has been failing/.test(message))).toEqual([]);
    });
});
