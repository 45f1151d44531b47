// The leak test: 200 clients across 50 users on 2 server connections, reading and writing as the app
// role, while 10 misbehaving clients set user ids at session level (set_config(..., false) and SET)
// and disconnect. Through Debian's PgBouncer on the rendered config (transaction mode), and through
// an application-side pool straight to PostgreSQL 15: no client may see or write a row that is not
// its user's, and nothing may fail. Two control runs prove the workload finds a leak where one
// exists. The figures at full length (20 s) are `npm run bench -- --only rls`.
import type { Client, ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { runRlsLoad, seedUsers, type RlsLoadResult } from "../support/rls-load";
import { grantStackPrivileges, schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const binary = findPgBouncer();
if (!binary) {
    console.warn("[rls-load.test] the PgBouncer half is SKIPPED: pgbouncer is not installed; `apt-get install -y pgbouncer`.");
}

const SECONDS = 4;
const PASSWORD = "rls-load-app-password-0123";
let schema: SchemaDatabase;
let config: ReturnType<typeof parseConfig>;
let owner: Client;
let users: string[];
let app: ClientConfig;

beforeAll(async () => {
    schema = await schemaDatabase("rls_load");
    // The default config with a pool of 2 server connections, so that every client shares them.
    config = parseConfig({ database: schema.db.name, pooling: JSON.stringify({ defaultPoolSize: 2, reservePoolSize: 0 }) });
    owner = schema.client;
    await owner.query(`alter role "${schema.options.appRole}" login password '${PASSWORD}'`);
    await grantStackPrivileges(owner, schema.options);
    users = await seedUsers(owner, 50);
    app = { ...schema.db.config, user: schema.options.appRole, password: PASSWORD };
});

afterAll(async () => {
    await schema?.drop();
});

function report(path: string, result: RlsLoadResult): void {
    const total = result.transactions.bound + result.transactions.plain + result.transactions.none;
    console.log(
        `[rls-load] ${path}: ${total} transactions in ${result.durationMs} ms (bound ${result.transactions.bound}, plain ${result.transactions.plain}, ` +
            `none ${result.transactions.none}), ${result.sessionIdsSet} session-level ids set, ${result.leaks} leaks, ${result.errors} errors, ` +
            `latency p50 ${result.latencyMs.p50} ms p95 ${result.latencyMs.p95} ms`,
    );
}

/** Every way of giving the id ran, the misbehaving clients did, and nothing leaked or failed. */
function expectNoLeak(result: RlsLoadResult): void {
    expect(result.errorSamples).toEqual([]);
    expect(result.leakSamples).toEqual([]);
    expect(result.leaks).toBe(0);
    expect(result.errors).toBe(0);
    expect(Math.min(result.transactions.bound, result.transactions.plain, result.transactions.none)).toBeGreaterThan(0);
    expect(result.sessionIdsSet).toBeGreaterThan(0);
    expect(result.refusedWrites).toBeGreaterThan(0);
}

describe.skipIf(!binary)("through PgBouncer in transaction mode, 2 server connections", () => {
    let bouncer: RunningPgBouncer;
    beforeAll(async () => {
        bouncer = await startPgBouncer({ config, server: schema.db.server, users: [{ name: schema.options.appRole, password: PASSWORD }] });
    });
    afterAll(async () => {
        await bouncer?.stop();
    });

    it("200 clients across 50 users see and write only their own rows while 10 set session-level ids and disconnect", async () => {
        expect(bouncer.ini).toContain("default_pool_size = 2");
        const connection = { ...app, host: bouncer.host, port: bouncer.port };
        const result = await runRlsLoad({ path: { kind: "pgbouncer", connection }, plainTrusted: true, users, durationMs: SECONDS * 1000 });

        report("PgBouncer", result);
        expectNoLeak(result);
    });

    it("would leak without the reset after each transaction: the control run finds rows of other users", async () => {
        const unreset = await startPgBouncer({
            config,
            server: schema.db.server,
            users: [{ name: schema.options.appRole, password: PASSWORD }],
            editIni: (ini) => ini.replace(/^server_reset_query.*$/gm, ""),
        });
        try {
            const connection = { ...app, host: unreset.host, port: unreset.port };
            const result = await runRlsLoad({ path: { kind: "pgbouncer", connection }, plainTrusted: true, users, durationMs: 2000 });
            expect(result.leaks).toBeGreaterThan(0);
        } finally {
            await unreset.stop();
        }
    });
});

describe("through an application's own pool of 2 connections straight to PostgreSQL", () => {
    it("200 clients across 50 users see and write only their own rows while 10 set session-level ids and go back unreset", async () => {
        const result = await runRlsLoad({
            path: { kind: "app-pool", connection: app, size: 2 },
            plainTrusted: false,
            users,
            durationMs: SECONDS * 1000,
        });

        report("application pool", result);
        expectNoLeak(result);
    });

    it("would leak if the app's login trusted plain claims: the control run finds rows of other users", async () => {
        await owner.query(`grant execute on function memory_stack.trust_plain_claims() to "${schema.options.appRole}"`);
        try {
            const result = await runRlsLoad({
                path: { kind: "app-pool", connection: app, size: 2 },
                plainTrusted: false,
                users,
                durationMs: 2000,
            });
            expect(result.leaks).toBeGreaterThan(0);
        } finally {
            await owner.query(`revoke execute on function memory_stack.trust_plain_claims() from "${schema.options.appRole}"`);
        }
    });
});
