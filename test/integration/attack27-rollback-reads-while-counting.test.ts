// The rollback's data guard scans every table it would drop data from: the memory tables and an application's
// whole users table (its memory columns). It held ACCESS EXCLUSIVE on them through those scans, so every agent's
// read (a login's select from users) queued behind the count — 0.7 s for 1.5 million users on this machine, past a
// 500 ms lock_timeout. Writes wait while it counts (the rows counted are the rows dropped); reads go on until the drops.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SqlClient } from "../../engine/db/client";
import { rollbackSchema } from "../../engine/migrate/index";
import { loadRollbackSql } from "../../engine/migrate/render";
import { applyMigrations, migrationsFor } from "../support/apply-sql";
import { schemaDatabase, type SchemaDatabase } from "../support/schema-db";
import { createApplicationTables, firstApplicationUser } from "../support/seed-application";

let schema: SchemaDatabase;
let agent: Client;

beforeAll(async () => {
    schema = await schemaDatabase("a27_reads_counting", {}, false);
    await createApplicationTables(schema.client);
    await applyMigrations(schema.client, migrationsFor(schema.options), schema.options);
    const user = await firstApplicationUser(schema.client);
    await schema.client.query("insert into sessions (session_id, user_id, agent_name) values ('s-1', $1, 'sales')", [user]);
    await schema.client.query("update users set memory_enabled = false where id = $1", [user]);
    agent = await schema.db.connect();
    await agent.query("set lock_timeout = '50ms'");
});

afterAll(async () => {
    await agent?.end();
    await schema?.drop();
});

/** What an agent's statement met: "ok", or the SQLSTATE it failed with (55P03: it waited past its lock_timeout). */
const attempt = (sql: string, values: unknown[] = []) =>
    agent.query(sql, values).then(
        () => "ok",
        (error: { code?: string }) => error.code ?? "failed",
    );

describe("rollback next to agents, while its data guard counts", () => {
    it("lets agents read the tables it counts, and holds their writes until it ends", async () => {
        const user = await firstApplicationUser(schema.client);
        const met: Record<string, string> = {};
        // The rollback's session, paused at the guard's count while the agent tries each table.
        const paused: SqlClient = {
            query: (async (text: unknown, values?: unknown[]) => {
                if (typeof text === "string" && text.includes("array[count(*)] from") && Object.keys(met).length === 0) {
                    met["read users"] = await attempt("select email from users where id = $1", [user]);
                    met["read sessions"] = await attempt("select count(*) from sessions");
                    met["write sessions"] = await attempt(
                        "insert into sessions (session_id, user_id, agent_name) values ('s-2', $1, 'support')",
                        [user],
                    );
                    met["write users"] = await attempt("update users set memory_enabled = true where id = $1", [user]);
                }
                return schema.client.query(text as string, values);
            }) as SqlClient["query"],
        };

        const result = await rollbackSchema(paused, { rollbackSql: loadRollbackSql(), allowDataLoss: true, defaults: schema.options });

        expect(met).toEqual({ "read users": "ok", "read sessions": "ok", "write sessions": "55P03", "write users": "55P03" });
        expect(result.rowCounts).toMatchObject({ sessions: 1 });
        expect(result.columnCounts).toMatchObject({ "users.memory_enabled": 1 });
        expect((await schema.client.query("select to_regclass('public.sessions') as t")).rows[0].t).toBeNull();
    });
});
