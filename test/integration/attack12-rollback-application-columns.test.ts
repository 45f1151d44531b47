// BUG on b2b6cb7: a column the application adds to a memory table (`alter table sessions add column
// tenant_id uuid`, its own tag on memory_logs) has no pg_depend row: it is part of the table. The rollback
// refuses for the application's index on a memory table (PostgreSQL would drop it along), but drops the
// application's column with the table without a word whenever the table is empty (a staging database, a
// fresh tenant). What a user loses: its own column, silently; the next apply creates the table without it
// and the application's writes to it fail. Like an index, it is the application's object on the stack's
// table: the rollback must name it and stop.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function deployed(prefix: string, flags: string[] = []): Promise<{ client: Client; env: NodeJS.ProcessEnv; roleNames: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    const env = { DATABASE_URL: db.url };
    const apply = await cli(["apply", "--app-role", roleNames[0], "--admin-role", roleNames[1], ...flags], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { client: await db.connect(), env, roleNames };
}

describe("rollback with the application's columns on empty memory tables", () => {
    it("refuses, naming each column and how to remove it, and drops nothing", async () => {
        const { client, env, roleNames } = await deployed("a12_app_columns");
        await client.query(`alter table sessions add column tenant_id uuid;
            alter table memory_logs add column app_trace text not null default ''`);
        const before = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback"], env);

        expect(refused.code, refused.stdout).toBe(1);
        expect(refused.stderr.split("\n").filter((line) => line.startsWith("- "))).toEqual([
            "- column app_trace of table public.memory_logs (on table public.memory_logs): alter table public.memory_logs drop column app_trace",
            "- column tenant_id of table public.sessions (on table public.sessions): alter table public.sessions drop column tenant_id",
        ]);
        expect(await databaseFingerprint(client, roleNames)).toEqual(before);
    });

    it("counts none of the stack's own columns, the derived embedding columns of the jsonb variant included", async () => {
        const { env } = await deployed("a12_app_columns_none");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
    });
});
