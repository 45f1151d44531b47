// `pulumi destroy` through Pulumi's dynamic-provider host, on a database that also holds the seed's
// application tables: verification goes first, then the schema's rollback runs from the outputs
// and provider text saved in state at the last up. While a memory table holds rows it is refused
// with the row counts and nothing is dropped; once an up has allowed data loss it removes every
// memory object and leaves the application's tables and rows exactly as they were.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import { readLedger } from "../../engine/migrate/index";
import { memoryProgram, startLifecycle, type Lifecycle } from "../support/lifecycle";
import { remainingMemoryObjects } from "../support/memory-objects";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { createApplicationTables, fingerprint } from "../support/seed-application";

let schema: SchemaDatabase;
let life: Lifecycle;
let connection: ConnectionSettings;
let applicationRows: Record<string, string>;

beforeAll(async () => {
    [schema, life] = await Promise.all([schemaDatabase("lifecycle_destroy", {}, false), startLifecycle()]);
    connection = schema.db.settings;
    await createApplicationTables(schema.client);
    applicationRows = await fingerprint(schema.client);
    await life.up(await memoryProgram({ connection, schema: schema.options }));
    await schema.client.query("insert into sessions (session_id, agent_name) values ('live-1', 'sales')");
});

afterAll(async () => {
    await life?.host.stop();
    await schema?.drop();
});

describe("pulumi destroy", () => {
    it("deletes the verification, then refuses to roll back the schema while a memory table holds rows, dropping nothing", async () => {
        const ledger = await readLedger(schema.client);

        const destroy = life.destroy();

        await expect(destroy).rejects.toThrow(
            "refusing to roll back the memory schema: 1 row would be lost (sessions: 1). Nothing was dropped.",
        );
        await expect(destroy).rejects.toThrow("pulumi config set memory-stack:allowDataLoss true");
        expect(life.calls.filter((call) => call.method === "delete").map((call) => call.name)).toEqual([
            "memory-verification",
            "memory-schema",
        ]);
        expect([...life.state.keys()]).toEqual(["memory-schema"]);
        expect(await remainingMemoryObjects(schema.client, schema.options)).toContain("table sessions");
        expect(await readLedger(schema.client)).toEqual(ledger);
    });

    it("rolls the schema back once an up allowed data loss, leaving the application's tables and rows untouched", async () => {
        const steps = await life.up(await memoryProgram({ connection, schema: schema.options, allowDataLoss: true }));
        expect(steps).toEqual({ "memory-schema": "update", "memory-verification": "create" });
        expect(life.outputs("memory-schema").allowDataLoss).toBe(true);

        await life.destroy();

        expect(life.state.size).toBe(0);
        expect(await remainingMemoryObjects(schema.client, schema.options)).toEqual([]);
        expect((await schema.client.query("select to_regclass('memory_stack.migrations') as ledger")).rows[0].ledger).toBeNull();
        expect(await fingerprint(schema.client)).toEqual(applicationRows);
    });
});
