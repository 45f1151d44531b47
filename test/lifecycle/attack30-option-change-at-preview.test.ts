// A deployed stack whose config renames the app role, or turns rls off, through Pulumi's dynamic-provider host: the
// schema resource's Diff (which `pulumi preview`, and so `pulumi up`, runs before any step) refuses it, naming the key
// and both values. Refused only by Update, the postgresql provider would already have renamed the live role in place
// (the application's logins fail) before the schema said "nothing was done".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLedger } from "../../engine/migrate/index";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;
let life: Lifecycle;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("attack30_preview", {}, false), startLifecycle()]);
    await life.up(await memoryProgram({ connection: schema.db.settings, schema: schema.options }));
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("pulumi up that changes an option the deployed schema cannot take", () => {
    it("is refused by Diff, before any Update, for a renamed role and for rls off", async () => {
        const ledger = await readLedger(schema.client);
        for (const [change, message] of [
            [
                { appRole: `${schema.options.appRole}_v2` },
                `memory-stack:appRole asks for appRole "${schema.options.appRole}_v2", but the stack's state (its last up) records appRole "${schema.options.appRole}"; nothing was done.`,
            ],
            [
                { rls: false },
                "memory-stack:rls asks for rls false, but the stack's state (its last up) records rls true; nothing was done.",
            ],
        ] as const) {
            const calls = life.calls.length;

            const up = life.up(await memoryProgram({ connection: schema.db.settings, schema: { ...schema.options, ...change } }));

            await expect(up).rejects.toThrow(message);
            expect(life.calls.slice(calls).map((call) => call.method)).toEqual(["check"]);
        }
        expect(await readLedger(schema.client)).toEqual(ledger);
    });
});
