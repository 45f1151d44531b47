// The data guard has no holes: a users table the stack created counts like the memory tables, and
// the memory columns it added to an application's users count every value that differs from the
// column's default (a memory_enabled = false opt-out included). Refused: nothing dropped, the
// message says what and how many; allowed: dropped, and the application's own columns stay.
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

async function deployed(prefix: string, application = ""): Promise<{ db: TestDatabase; env: NodeJS.ProcessEnv; roleNames: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    const env = { DATABASE_URL: db.url };
    if (application) {
        const client = await db.connect();
        await client.query(application);
    }
    const apply = await cli(["apply", "--app-role", roleNames[0], "--admin-role", roleNames[1]], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { db, env, roleNames };
}

describe("rollback of a stack that created users", () => {
    it("refuses while users holds rows, even with every memory table empty, and drops everything once allowed", async () => {
        const { db, env, roleNames } = await deployed("guard_users");
        const client = await db.connect();
        await client.query("insert into users (email) select 'user' || i || '@example.com' from generate_series(1, 100) i");
        const before = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback"], env);

        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
            "refusing to roll back the memory schema: 100 rows would be lost (users: 100). Nothing was dropped.",
        );
        expect(refused.stderr).toContain("pg_dump --data-only -t users");
        expect(await databaseFingerprint(client, roleNames)).toEqual(before);

        const allowed = await cli(["rollback", "--allow-data-loss"], env);
        expect(allowed.code, allowed.stderr).toBe(0);
        expect(allowed.stdout).toContain("rows dropped: users 100");
        expect(
            (await client.query("select to_regclass('public.users') as users, to_regclass('memory_stack.migrations') as ledger")).rows[0],
        ).toEqual({
            users: null,
            ledger: null,
        });
    });

    it("rolls back at once when nothing holds data", async () => {
        const { db, env } = await deployed("guard_empty");
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(
            (await (await db.connect()).query("select count(*)::int as n from pg_class where relnamespace = 'public'::regnamespace"))
                .rows[0].n,
        ).toBe(0);
    });
});

describe("rollback of the memory columns added to an application's users", () => {
    const APPLICATION = `create table public.users (id uuid primary key default gen_random_uuid(), email text not null, plan text);
        insert into public.users (email, plan) select 'user' || i || '@example.com', 'pro' from generate_series(1, 5) i;`;

    it("counts every non-default value, opt-outs included, refuses naming each column, and drops only those columns once allowed", async () => {
        const { db, env, roleNames } = await deployed("guard_columns", APPLICATION);
        const client = await db.connect();
        const applicationRows = async () => (await client.query("select id, email, plan from users order by email")).rows;
        const rowsBefore = await applicationRows();
        await client.query(`update users set memory_enabled = false where email in ('user1@example.com', 'user2@example.com');
            update users set memory_preferences = '{"tone": "short"}' where email = 'user3@example.com';
            update users set last_memory_activity_at = now() where email = 'user4@example.com'`);
        const before = await databaseFingerprint(client, roleNames);

        const refused = await cli(["rollback"], env);

        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain(
            "refusing to roll back the memory schema: 4 non-default values in columns the stack added would be lost " +
                "(users.last_memory_activity_at: 1, users.memory_enabled: 2, users.memory_preferences: 1). Nothing was dropped.",
        );
        expect(await databaseFingerprint(client, roleNames)).toEqual(before);

        const allowed = await cli(["rollback", "--allow-data-loss"], env);
        expect(allowed.code, allowed.stderr).toBe(0);
        expect(allowed.stdout).toContain(
            "non-default values dropped: users.last_memory_activity_at 1, users.memory_enabled 2, users.memory_preferences 1",
        );
        const columns = await client.query(
            "select attname from pg_attribute where attrelid = 'public.users'::regclass and attnum > 0 and not attisdropped order by attnum",
        );
        expect(columns.rows.map((row) => row.attname)).toEqual(["id", "email", "plan"]);
        expect(await applicationRows()).toEqual(rowsBefore);
    });
});
