// A rollback's commit does not wait for the disk under the migration lock; the run flushes the WAL as it releases the
// lock (lock.ts). A connection lost at that flush (the rollback's session terminated, a network cut) came out as the
// driver's bare "Client has encountered a connection error and is not queryable" from the unlock after it, so a user
// read a failed rollback where the rollback had committed. The error says what committed, and status shows it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlClient } from "../../engine/db/client";
import { readLedger, rollbackSchema } from "../../engine/migrate/index";
import { loadRollbackSql } from "../../engine/migrate/render";
import { remainingMemoryObjects } from "../support/memory-objects";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";

let schema: SchemaDatabase;

beforeAll(async () => {
    schema = await schemaDatabase("a27_lost_at_flush");
});

afterAll(async () => {
    await schema?.drop();
});

describe("the rollback's session terminated while it flushes its commit", () => {
    it("says the rollback committed, not a bare connection error; running it again finds nothing to roll back", async () => {
        const rollbackClient = await schema.db.connect();
        rollbackClient.on("error", () => undefined);
        const killedAtFlush: SqlClient = {
            query: (async (text: unknown, values?: unknown[]) => {
                if (typeof text === "string" && text.startsWith("begin;") && text.includes("pg_logical_emit_message")) {
                    await schema.client.query("select pg_terminate_backend($1)", [
                        (rollbackClient as unknown as { processID: number }).processID,
                    ]);
                }
                return rollbackClient.query(text as string, values);
            }) as SqlClient["query"],
        };
        const options = { rollbackSql: loadRollbackSql(), allowDataLoss: true, defaults: schema.options };

        const error = await rollbackSchema(killedAtFlush, options).then(
            () => new Error("the rollback reported success"),
            (e: unknown) => e as Error,
        );
        await rollbackClient.end().catch(() => undefined);

        expect(error.message).toContain("the run committed (its migrations, or the rollback), but making that durable failed");
        expect(error.message).toContain("`memory-stack status` then shows what is applied");
        expect(await readLedger(schema.client)).toEqual([]);
        expect(await remainingMemoryObjects(schema.client, schema.options)).toEqual([]);
        expect((await rollbackSchema(schema.client, options)).rolledBack).toBe(false);
    });
});
