// BUG on b2b6cb7: the application can make a memory table part of a table of its own — attach it as a
// partition (`alter table app_logs attach partition memory_logs for values in (...)`) or as an inheritance
// child (`alter table memory_logs inherit app_events`). The rollback refuses for the converse (an
// application table inheriting from a memory table), but drops a memory table that is the application's
// partition or child without a word: the application's partitioned table loses that partition (its inserts
// for those values go to the default partition, or fail), and its parent's queries lose those rows.
// What a user loses: the shape of its own partitioned table, silently, whenever the memory table is empty
// (with rows, the data guard counts them only as the memory table's). The rollback must name the
// application's table and how to detach it.
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

async function deployed(prefix: string): Promise<{ client: Client; env: NodeJS.ProcessEnv; roleNames: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    const env = { DATABASE_URL: db.url };
    const apply = await cli(["apply", "--app-role", roleNames[0], "--admin-role", roleNames[1]], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { client: await db.connect(), env, roleNames };
}

describe("rollback of memory tables the application made part of its own", () => {
    it("refuses, naming the application's partitioned table and its parent, and drops nothing", async () => {
        const { client, env, roleNames } = await deployed("a12_attached_parent");
        await client.query(`create table app_logs (like memory_logs) partition by list (operation);
            alter table app_logs attach partition memory_logs for values in ('write', 'read', 'recall', 'decay');
            create table app_events (source text);
            alter table audit_logs add column source text;
            alter table audit_logs inherit app_events`);
        const before = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback"], env);

        expect(refused.code, refused.stdout).toBe(1);
        const listed = refused.stderr.split("\n").filter((line) => line.startsWith("- "));
        expect(listed).toContain(
            "- table public.app_logs (on table public.memory_logs, its partition): alter table public.app_logs detach partition public.memory_logs",
        );
        expect(listed).toContain(
            "- table public.app_events (on table public.audit_logs, its child): alter table public.audit_logs no inherit public.app_events",
        );
        expect(await databaseFingerprint(client, roleNames)).toEqual(before);
    });
});
