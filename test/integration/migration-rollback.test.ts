// Rollback (SPEC §7) on a database that also holds the seed's application tables and rows.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations, DataLossRefusedError, describeVariant, readLedger, rollbackSchema } from "../../components/schema/engine";
import { MEMORY_TABLES } from "../../components/schema/manifest";
import { loadMigrationSources, renderMigrations, renderRollback, type SchemaOptions } from "../../components/schema/render";
import { freshDatabase, type TestDatabase } from "../support/database";
import { remainingMemoryObjects } from "../support/memory-objects";
import { recording, writes } from "../support/migrations";
import { createApplicationTables, fingerprint, SEED_USER_ID } from "../support/seed-application";

let db: TestDatabase;
let client: Client;
let options: SchemaOptions;
let applicationRows: Record<string, string>;

beforeAll(async () => {
    db = await freshDatabase("migration_rollback");
    client = await db.connect();
    // Roles are cluster-wide and test files share the server: names of this database's own.
    options = { vector: false, vectorDimensions: 3, vectorIndex: "hnsw", rls: true, appRole: `${db.name}_app`, adminRole: `${db.name}_admin` };
    await createApplicationTables(client);
    applicationRows = await fingerprint(client);
    await applyMigrations(client, renderMigrations(loadMigrationSources(), options), { variant: describeVariant(options) });
    await client.query("insert into sessions (session_id, user_id, agent_name) values ('s-1', $1, 'sales'), ('s-2', $1, 'support')", [SEED_USER_ID]);
    await client.query("insert into memory_logs (user_id, agent_name, operation, memory_key) values ($1, 'sales', 'write', 'budget')", [SEED_USER_ID]);
    await client.query("update users set memory_enabled = true where id = $1", [SEED_USER_ID]);
});

afterAll(async () => {
    await db.drop();
    const admin = await freshDatabaseAdmin();
    try {
        await admin.query(`drop role if exists "${options.appRole}"; drop role if exists "${options.adminRole}"`);
    } finally {
        await admin.end();
    }
});

async function freshDatabaseAdmin(): Promise<Client> {
    const { Client: PgClient } = await import("pg");
    const admin = new PgClient({ ...db.config, database: "postgres" });
    await admin.connect();
    return admin;
}

const rollback = (allowDataLoss: boolean, on: Parameters<typeof rollbackSchema>[0] = client) =>
    rollbackSchema(on, { rollbackSql: renderRollback(options), memoryTables: MEMORY_TABLES, allowDataLoss });

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
