// BUG on 454c876: two Pulumi stacks given one database (staging configured with prod's databaseUrl). Staging's create
// found every migration in the ledger, applied nothing, succeeded and took the schema for its own; its `pulumi destroy`
// then rolled back prod's schema (the data guard stops that only while memory tables hold rows, and allowDataLoss lifts
// it). Now the ledger names the stack that deployed the schema: another stack's create or update is refused with nothing
// changed, its destroy leaves the schema in place and says so, and the stack that deployed it behaves as before.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MIGRATION_LOCK_KEY, readLedger } from "../../engine/migrate/index";
import { cli } from "../support/cli";
import type { TestDatabase } from "../support/database";
import { Lifecycle, memoryProgram, startLifecycle } from "../support/lifecycle";
import { remainingMemoryObjects } from "../support/memory-objects";
import { until } from "../support/poll";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const PROD = "memory-stack/prod";
const STAGING = "memory-stack/staging";

let prodDb: SchemaDatabase;
let host: Lifecycle["host"];

beforeAll(async () => {
    let first: Lifecycle;
    [prodDb, first] = await Promise.all([schemaDatabase("a39_shared", {}, false), startLifecycle()]);
    host = first.host;
});

afterAll(async () => {
    await host?.stop();
    await prodDb?.drop();
});

// One stack's state each, on the one provider host (it keeps none); what a failed test left up goes after it.
const lives: Lifecycle[] = [];
const stack = () => {
    const life = new Lifecycle(host);
    lives.push(life);
    return life;
};

afterEach(async () => {
    for (const life of lives.splice(0).reverse()) {
        await life.destroy();
    }
});
const program = (name: string, db: { settings: TestDatabase["settings"] } = prodDb.db, allowDataLoss = false) =>
    memoryProgram({ connection: db.settings, schema: prodDb.options, stack: name, allowDataLoss });
const ledgerStacks = async () =>
    [...new Set((await readLedger(prodDb.client)).map((row) => row.stack ?? null))].sort((a, b) => String(a).localeCompare(String(b)));

describe("two stacks given one database", () => {
    it("refuses another stack's create, naming the stack that deployed the schema, with nothing changed", async () => {
        const prod = stack();
        await prod.up(await program(PROD));
        expect(await ledgerStacks()).toEqual([PROD]);
        const ledger = await readLedger(prodDb.client);

        const staging = stack();
        await expect(staging.up(await program(STAGING))).rejects.toThrow(
            `the schema in this database was deployed by stack ${PROD}, not by this stack (${STAGING}); nothing was changed`,
        );
        expect([...staging.state.keys()]).toEqual([]);
        expect(await readLedger(prodDb.client)).toEqual(ledger);

        await prod.destroy();
    });

    it("refuses the second of two first ups that waited for the migration lock together, as it checks again under it", async () => {
        const holder = await prodDb.db.connect();
        await holder.query(`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`);
        const [prodProgram, stagingProgram] = [await program(PROD), await program(STAGING)];
        const ups = Promise.allSettled([stack().up(prodProgram), stack().up(stagingProgram)]);
        // Both past the check before the lock (nothing deployed yet), both trying for the lock.
        await until("both ups to try for the migration lock", async () => {
            const { rows } = await holder.query(
                `select count(*)::int as n from pg_stat_activity
                  where datname = current_database() and application_name = 'memory-stack-migrate' and query like '%pg_try_advisory_lock%'`,
            );
            return rows[0].n === 2 || undefined;
        });
        await holder.query(`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`);
        await holder.end();

        const results = await ups;
        expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
        const refused = results.find((result): result is PromiseRejectedResult => result.status === "rejected")!;
        expect(String(refused.reason)).toMatch(/deployed by stack memory-stack\/(prod|staging), not by this stack/);
        expect(await ledgerStacks()).toHaveLength(1);
    });

    it("lets the CLI, which has no stack, apply to and roll back a database a stack deployed", async () => {
        const prod = stack();
        await prod.up(await program(PROD));
        const env = { DATABASE_URL: prodDb.db.url };

        const apply = await cli(["apply", "--app-role", prodDb.options.appRole, "--admin-role", prodDb.options.adminRole], env);
        expect(apply.code, apply.stderr).toBe(0);
        expect(await ledgerStacks()).toEqual([PROD]);
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(await remainingMemoryObjects(prodDb.client, prodDb.options)).not.toContain("table sessions");
    });

    it("refuses it at the deploy guard, the stack's first step, before the roles or the schema are touched", async () => {
        const prod = stack();
        await prod.up(await program(PROD));
        const staging = stack();
        const guarded = await memoryProgram({ connection: prodDb.db.settings, schema: prodDb.options, stack: STAGING, guard: {} });

        await expect(staging.up(guarded)).rejects.toThrow(`deployed by stack ${PROD}, not by this stack (${STAGING})`);
        expect(staging.calls.map((call) => `${call.method} ${call.name}`)).toEqual(["check memory-guard", "create memory-guard"]);

        await prod.destroy();
    });

    it("after the upgrade, refuses the other stack's update and leaves the schema on its destroy; the stack that deployed it rolls it back", async () => {
        // Both stacks up before this release (their state and the ledger name no stack); prod's up after the upgrade takes it.
        const forget = () => prodDb.client.query("update memory_stack.migrations set stack = null");
        const staging = stack();
        await staging.up(await program(STAGING, prodDb.db, true));
        await forget();
        const prod = stack();
        await prod.up(await program(PROD));
        await forget();
        for (const life of [staging, prod]) {
            const { stack: _stack, ...outputs } = life.outputs("memory-schema");
            life.state.set("memory-schema", { ...life.state.get("memory-schema")!, outputs });
        }
        expect(await prod.up(await program(PROD))).toMatchObject({ "memory-schema": "update" });
        expect(await ledgerStacks()).toEqual([PROD]);
        expect(await prod.up(await program(PROD))).toMatchObject({ "memory-schema": "same" });
        const ledger = await readLedger(prodDb.client);
        const stagingOutputs = staging.outputs("memory-schema");

        await expect(staging.up(await program(STAGING, prodDb.db, true))).rejects.toThrow(
            `deployed by stack ${PROD}, not by this stack (${STAGING}); nothing was changed`,
        );
        expect(staging.outputs("memory-schema")).toEqual(stagingOutputs);
        expect(await readLedger(prodDb.client)).toEqual(ledger);

        await staging.destroy();

        expect(host.stderr()).toContain(
            `memory-stack: left the memory schema in place: it was deployed by stack ${PROD}, this stack's state, written before stacks were recorded, names none; nothing was dropped`,
        );
        expect(await readLedger(prodDb.client)).toEqual(ledger);
        expect(await remainingMemoryObjects(prodDb.client, prodDb.options)).toContain("table sessions");
        // Its grants went first (Pulumi deletes them before the schema they depend on), from prod's roles: as the message says,
        // the CLI's apply with those roles grants them again.
        const appReads = async () =>
            (await prodDb.client.query("select has_table_privilege($1, 'public.sessions', 'select') as yes", [prodDb.options.appRole]))
                .rows[0].yes;
        expect(await appReads()).toBe(false);
        const roles = ["--app-role", prodDb.options.appRole, "--admin-role", prodDb.options.adminRole];
        const apply = await cli(["apply", ...roles], { DATABASE_URL: prodDb.db.url });
        expect(apply.code, apply.stderr).toBe(0);
        expect(await appReads()).toBe(true);

        await prod.destroy();
        expect(host.stderr()).toMatch(/memory-stack: rolled back the memory schema in \d+ ms/);
        expect(await remainingMemoryObjects(prodDb.client, prodDb.options)).not.toContain("table sessions");
    });

    it("leaves it in place when the schema was handed over to another stack, whose up takes it with nothing to apply", async () => {
        const staging = stack();
        await staging.up(await program(STAGING, prodDb.db, true));
        await prodDb.client.query("update memory_stack.migrations set stack = null");
        const prod = stack();
        await prod.up(await program(PROD));
        expect(await ledgerStacks()).toEqual([PROD]);

        await staging.destroy();

        expect(host.stderr()).toContain(
            `memory-stack: left the memory schema in place: it was deployed by stack ${PROD}, not by this stack (${STAGING}); nothing was dropped`,
        );
        expect(await remainingMemoryObjects(prodDb.client, prodDb.options)).toContain("table sessions");
        await prod.destroy();
        expect(await remainingMemoryObjects(prodDb.client, prodDb.options)).not.toContain("table sessions");
    });
});
