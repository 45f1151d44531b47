// The leak test: 200 clients across 50 users on 2 server connections, reading and writing as the app
// role, while 10 misbehaving clients set user ids at session level (set_config(..., false) and SET)
// and disconnect. Through Debian's PgBouncer on the rendered config (transaction mode), where they
// also leave a temp table of their victim's rows and other session state, and through an
// application-side pool straight to PostgreSQL 15: no client may see or write a row that is not its
// user's, and nothing may fail. Each protection is also shown alone: the pooler's reset holds even
// were the database to trust the app's plain claims. Control runs prove the workload finds a leak
// where a protection is removed: PgBouncer without its reset or with RESET ALL (settings only) as
// the reset, and an application pool whose login trusts plain claims. The figures at full length (20 s)
// are `npm run bench -- --only rls`.
import type { Client, ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../engine/config/config";
import { SERVER_RESET_QUERY } from "../../engine/render/pgbouncer";
import { findPgBouncer, startPgBouncer, type RunningPgBouncer } from "../support/pgbouncer";
import { until } from "../support/poll";
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
            `none ${result.transactions.none}), ${result.sessionIdsSet} session-level ids set, ${result.stateLeft} times session state left, ` +
            `${result.stateFound} times found, ${result.leaks} leaks, ${result.errors} errors, ` +
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

/**
 * A control run again until it finds a leak: on a loaded machine a 2 s run can end before a misbehaving
 * client has left anything for a later one to find. Where the protection is in place it never finds one.
 */
function untilLeak(run: () => Promise<RlsLoadResult>): Promise<RlsLoadResult> {
    return until(
        "a control run that finds a leak",
        async () => {
            const result = await run();
            return result.leaks > 0 ? result : undefined;
        },
        40_000,
    );
}

/** The app's login granted the plain-claim switch for the duration of `work`: the database's protection removed. */
async function withPlainClaimsTrusted<T>(work: () => Promise<T>): Promise<T> {
    await owner.query(`grant execute on function memory_stack.trust_plain_claims() to "${schema.options.appRole}"`);
    try {
        return await work();
    } finally {
        await owner.query(`revoke execute on function memory_stack.trust_plain_claims() from "${schema.options.appRole}"`);
    }
}

describe.skipIf(!binary)("through PgBouncer in transaction mode, 2 server connections", () => {
    let bouncer: RunningPgBouncer;
    let connection: ClientConfig;
    beforeAll(async () => {
        bouncer = await startPgBouncer({ config, server: schema.db.server, users: [{ name: schema.options.appRole, password: PASSWORD }] });
        connection = { ...app, host: bouncer.host, port: bouncer.port };
    });
    afterAll(async () => {
        await bouncer?.stop();
    });

    it("200 clients across 50 users see and write only their own rows while 10 set session-level ids, leave session state and disconnect", async () => {
        expect(bouncer.ini).toContain("default_pool_size = 2");
        const result = await runRlsLoad({
            path: { kind: "pgbouncer", connection },
            plainTrusted: false,
            leftovers: true,
            users,
            durationMs: SECONDS * 1000,
        });

        report("PgBouncer", result);
        expectNoLeak(result);
        expect(result.stateLeft).toBeGreaterThan(0);
        expect(result.stateFound).toBe(0);
    });

    it("holds by the reset alone, were the database to trust the app's plain claims: session-level ids never reach the next client", async () => {
        const result = await withPlainClaimsTrusted(() =>
            runRlsLoad({ path: { kind: "pgbouncer", connection }, plainTrusted: true, leftovers: true, users, durationMs: 2000 }),
        );

        report("PgBouncer, plain claims trusted", result);
        expectNoLeak(result);
        expect(result.stateFound).toBe(0);
    });

    it.each([
        // Both lines go: without server_reset_query_always, transaction mode runs no reset at all.
        ["without the reset after each transaction", (ini: string) => ini.replace(/^server_reset_query.*$/gm, "")],
        [
            "with RESET ALL as the reset, which clears settings only",
            (ini: string) => ini.replace(/^server_reset_query = .*$/m, "server_reset_query = reset all"),
        ],
    ])("would leak %s: the control run finds other users' rows another client left", async (_, editIni) => {
        const unreset = await startPgBouncer({
            config,
            server: schema.db.server,
            users: [{ name: schema.options.appRole, password: PASSWORD }],
            editIni,
        });
        try {
            expect(unreset.ini).not.toContain(SERVER_RESET_QUERY);
            const result = await untilLeak(() =>
                runRlsLoad({
                    path: { kind: "pgbouncer", connection: { ...app, host: unreset.host, port: unreset.port } },
                    plainTrusted: false,
                    leftovers: true,
                    users,
                    durationMs: 2000,
                }),
            );
            expect(result.stateFound).toBeGreaterThan(0);
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
        // Plain claims counted as their own user's: only an id another client left at session level is a leak.
        const result = await withPlainClaimsTrusted(() =>
            untilLeak(() =>
                runRlsLoad({ path: { kind: "app-pool", connection: app, size: 2 }, plainTrusted: true, users, durationMs: 2000 }),
            ),
        );
        expect(result.leakSamples.join("\n")).toMatch(/none client of \S+ saw \d+ row\(s\) of /);
        expect(result.leaks).toBeGreaterThan(0);
    });
});
