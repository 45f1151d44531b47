// A guard that could not reach the server lets that up's change through (with a line on stderr), but it recorded the
// change as its state: the next up with the same config, the server back, found no difference in Diff and skipped its
// update. Under `pulumi up --skip-preview` the postgresql provider then renamed the live role before the schema
// resource refused it. The guard keeps the inputs it last checked, so the next up checks the change again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withClient } from "../support/database";
import { until } from "../support/poll";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

const IMAGE = "postgres:15-alpine";
const UNCHECKED = "memory-stack: could not read what the server has deployed to check this change (";

let schema: SchemaDatabase;
let life: Lifecycle;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("attack37_unchecked", {}, false), startLifecycle()]);
    await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options, guard: { serverImage: IMAGE } }));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

// From the maintenance database: a session cannot shut its own database.
const connections = (allowed: boolean) =>
    withClient({ ...schema.db.config, database: "postgres" }, (admin) =>
        admin.query(`alter database "${schema.db.name}" with allow_connections ${allowed}`),
    );

describe("a change the guard could not check because the server was away", () => {
    it("is checked by the guard on the next up, once the server answers", async () => {
        const renamed = { ...schema.options, appRole: `${schema.options.appRole}_v2` };
        const program = () => memoryProgram({ connection: schema.db.settings, schema: renamed, guard: { serverImage: IMAGE } });

        await connections(false);
        try {
            await expect(life.up(await program())).rejects.toThrow(/appRole/);
        } finally {
            await connections(true);
        }
        // The host's stderr comes through a pipe of its own, maybe after the call's answer.
        await until("the guard's line on stderr", () => (life.host.stderr().includes(UNCHECKED) ? true : undefined));
        const calls = life.calls.length;

        await expect(life.up(await program())).rejects.toThrow(
            `memory-stack:appRole asks for appRole "${renamed.appRole}", but the database's migration ledger records appRole "${schema.options.appRole}"; nothing was done.`,
        );
        expect(life.calls.slice(calls).map((call) => `${call.method} ${call.name}`)).toEqual([
            "check memory-guard",
            "diff memory-guard",
            "update memory-guard",
        ]);
    });
});
