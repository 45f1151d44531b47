// BUG on b2b6cb7: the data guard counts, in the memory columns the stack added to the application's users,
// the values that differ from the column's *current* default. An application that makes memory opt-in
// (`alter table users alter column memory_enabled set default false`, then `update users set
// memory_enabled = false`) has every value equal to that default, so the guard counts none and the
// rollback drops the column without --allow-data-loss. The next apply adds it back with the stack's
// default, true. What a user loses: every user's opt-out, silently — after apply → rollback → apply every
// user has memory enabled again. A value is lost when the stack's own default would not give it back.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function deployedOverApplicationUsers(prefix: string): Promise<{ client: Client; env: NodeJS.ProcessEnv }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    roles.push(`${db.name}_app`, `${db.name}_admin`);
    const client = await db.connect();
    await client.query(`create table public.users (id uuid primary key default gen_random_uuid(), email text unique not null);
        insert into public.users (email) select 'user' || i || '@example.com' from generate_series(1, 5) i`);
    const env = { DATABASE_URL: db.url };
    const apply = await cli(["apply", "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { client, env };
}

describe("rollback after the application changed the default of a memory column", () => {
    it("counts the opt-outs the stack's default would not give back, refuses, and drops nothing", async () => {
        const { client, env } = await deployedOverApplicationUsers("a12_changed_default");
        await client.query("alter table users alter column memory_enabled set default false; update users set memory_enabled = false");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stdout).toBe(1);
        expect(rollback.stderr).toContain("5 non-default values in columns the stack added would be lost (users.memory_enabled: 5)");
        const left = await client.query<{ n: number }>("select count(*)::int as n from users where not memory_enabled");
        expect(left.rows[0].n).toBe(5);
    });

    it("does not count values equal to the stack's default when the application changed the default", async () => {
        const { client, env } = await deployedOverApplicationUsers("a12_changed_default_kept");
        await client.query("alter table users alter column memory_enabled set default false");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
    });
});
