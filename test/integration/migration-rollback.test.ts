// Rollback on a database that also holds the seed's application tables and rows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations, DataLossRefusedError, describeVariant, readLedger, rollbackSchema } from "../../engine/migrate/index";
import { loadMigrationSources, loadRollbackSql, renderMigrations, type SchemaOptions } from "../../engine/migrate/render";
import { remainingMemoryObjects } from "../support/memory-objects";
import { recording, writes } from "../support/migrations";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { createApplicationTables, fingerprint, firstApplicationUser } from "../support/seed-application";

let schema: SchemaDatabase;
let client: Client;
let options: SchemaOptions;
let applicationRows: Record<string, string>;

beforeAll(async () => {
    schema = await schemaDatabase("migration_rollback", {}, false);
    ({ client, options } = schema);
    await createApplicationTables(client);
    applicationRows = await fingerprint(client);
    await applyMigrations(client, renderMigrations(loadMigrationSources(), options), { variant: describeVariant(options) });
    const user = await firstApplicationUser(client);
    await client.query("insert into sessions (session_id, user_id, agent_name) values ('s-1', $1, 'sales'), ('s-2', $1, 'support')", [
        user,
    ]);
    await client.query("insert into memory_logs (user_id, agent_name, operation, memory_key) values ($1, 'sales', 'write', 'budget')", [
        user,
    ]);
    await client.query("update users set memory_enabled = true where id = $1", [user]);
});

afterAll(async () => {
    await schema?.drop();
});

const rollback = (allowDataLoss: boolean, on: Parameters<typeof rollbackSchema>[0] = client) =>
    rollbackSchema(on, { rollbackSql: loadRollbackSql(), allowDataLoss, defaults: options });

describe("rollbackSchema", () => {
    it("refuses while memory tables hold rows, saying how many in which table, and drops nothing", async () => {
        const error = await rollback(false).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(DataLossRefusedError);
        expect((error as DataLossRefusedError).rowCounts).toMatchObject({ sessions: 2, memory_logs: 1, audit_logs: 0 });
        const message = (error as Error).message;
        expect(message).toContain("3 rows would be lost (memory_logs: 1, sessions: 2)");
        expect(message).toContain("Nothing was dropped");
        expect(message).toContain("allowDataLoss");
        expect(message).toContain("--allow-data-loss");
        expect(await remainingMemoryObjects(client, options)).toContain("table sessions");
        expect((await readLedger(client)).length).toBe(renderMigrations(loadMigrationSources(), options).length);
    });

    it("with data loss allowed removes every memory object and leaves every application row unchanged", async () => {
        const result = await rollback(true);

        expect(result.rolledBack).toBe(true);
        expect(result.rowCounts).toMatchObject({ sessions: 2, memory_logs: 1 });
        expect(await remainingMemoryObjects(client, options)).toEqual([]);
        expect(await fingerprint(client)).toEqual(applicationRows);
    });

    it("is a no-op the second time: nothing to roll back and nothing sent but reads", async () => {
        const recorder = recording(client);
        const result = await rollback(false, recorder.client);
        expect(result.rolledBack).toBe(false);
        expect(writes(recorder.statements)).toEqual([]);
        expect(await fingerprint(client)).toEqual(applicationRows);
    });
});
