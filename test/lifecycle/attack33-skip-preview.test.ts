// `pulumi up --skip-preview` runs no Diff ahead of the steps, so the schema resource's refusal of a renamed role came
// only after the postgresql provider had renamed the live role (and a refused owner or image only after the server's
// container was replaced). The deploy guard, which every server-changing resource depends on
// (test/unit/attack33-guard-first.test.ts), refuses in its own update, first, from what the server records: through
// Pulumi's dynamic-provider host against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { freePort } from "../support/embedded-server";
import { until } from "../support/poll";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const IMAGE = "postgres:15-alpine";

let schema: SchemaDatabase;
let life: Lifecycle;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("attack33_guard", {}, false), startLifecycle()]);
    await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options, guard: { serverImage: IMAGE } }));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

const since = (calls: number) => life.calls.slice(calls).map((call) => `${call.method} ${call.name}`);

describe("an up that changes what the deployed stack cannot take", () => {
    it("is refused by the guard's update, the first step, before any other resource is called", async () => {
        const ledger = await readLedger(schema.client);
        const calls = life.calls.length;

        const up = life.up(
            await memoryProgram({
                connection: schema.db.settings,
                schema: { ...schema.options, appRole: `${schema.options.appRole}_v2` },
                guard: { serverImage: IMAGE },
            }),
        );

        await expect(up).rejects.toThrow(
            `memory-stack:appRole asks for appRole "${schema.options.appRole}_v2", but the database's migration ledger records appRole "${schema.options.appRole}"; nothing was done.`,
        );
        expect(since(calls)).toEqual(["check memory-guard", "diff memory-guard", "update memory-guard"]);
        expect(await readLedger(schema.client)).toEqual(ledger);
    });

    it("refuses another owner than the one the server was initialised with, read from the server", async () => {
        const up = life.up(
            await memoryProgram({
                connection: { ...schema.db.settings, user: "memory_owner_v2" },
                schema: schema.options,
                guard: { serverImage: IMAGE },
            }),
        );

        await expect(up).rejects.toThrow(
            `memory-stack:user asks for owner "memory_owner_v2", but the server's data volume was initialised with owner "${schema.db.settings.user}" (the server); nothing was done.`,
        );
    });

    it("lets a failed switch to vector be undone: the server, not the guard's state, says what is deployed", async () => {
        // This server has no pgvector: the schema's preflight refuses the switch after the guard took the new options.
        const vector = { ...schema.options, vector: true };
        await expect(
            life.up(
                await memoryProgram({ connection: schema.db.settings, schema: vector, guard: { serverImage: "pgvector/pgvector:pg15" } }),
            ),
        ).rejects.toThrow(/vector/);
        expect(life.outputs("memory-guard").schema).toMatchObject({ vector: true });

        await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options, guard: { serverImage: IMAGE } }));

        expect(life.outputs("memory-guard").schema).toMatchObject({ vector: false });
    });
});

describe("a guard that cannot reach the server", () => {
    it("lets the change through to the schema resource's own checks, and says so on stderr", async () => {
        const alone = await startLifecycle();
        try {
            const connection = { ...schema.db.settings, port: await freePort() };
            const guardOf = async (appRole: string) =>
                (await memoryProgram({ connection, schema: { ...schema.options, appRole }, guard: {} })).slice(0, 1);
            await alone.up(await guardOf(schema.options.appRole));

            await alone.up(await guardOf(`${schema.options.appRole}_v2`));

            // The host's stderr comes through a pipe of its own, maybe after the call's answer.
            const line = "memory-stack: could not read what the server has deployed to check this change (";
            await until("the guard's line on stderr", () => (alone.host.stderr().includes(line) ? true : undefined));
            expect(alone.host.stderr()).not.toContain(schema.db.settings.password);
        } finally {
            await alone.host.stop();
        }
    });
});
