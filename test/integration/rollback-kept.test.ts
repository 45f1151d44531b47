// A rollback never leaves behind something of the stack's that the next apply would refuse as the
// application's. An application object calling a stack function (a column default, a policy) stops
// the rollback before anything is dropped, like any other dependent; what rollback.sql still keeps (an
// extension the application uses) keeps its ownership record, so the next apply and the next rollback
// know it as the stack's. And a conflict names the schema the object is really in.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { loadRollbackSql } from "../../engine/migrate/index";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

async function database(prefix: string): Promise<{ client: Client; env: NodeJS.ProcessEnv; roleNames: string[]; flags: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const roleNames = [`${db.name}_app`, `${db.name}_admin`];
    roles.push(...roleNames);
    return {
        client: await db.connect(),
        env: { DATABASE_URL: db.url },
        roleNames,
        flags: ["--app-role", roleNames[0], "--admin-role", roleNames[1]],
    };
}

async function deployed(prefix: string): Promise<Awaited<ReturnType<typeof database>>> {
    const db = await database(prefix);
    const apply = await cli(["apply", ...db.flags], db.env);
    expect(apply.code, apply.stderr).toBe(0);
    return db;
}

const records = async (client: Client) =>
    (await client.query<{ identity: string }>("select identity from memory_stack.created_objects order by position")).rows.map(
        (row) => row.identity,
    );

describe("rollback with an application object calling a stack function", () => {
    for (const [prefix, what, create, line, fix] of [
        [
            "kept_default",
            "a column default",
            "create table app_def (id int, u uuid default memory_stack.request_user_id())",
            "- default value for column u of table public.app_def (on function memory_stack.request_user_id())",
            "alter table public.app_def alter column u drop default",
        ],
        [
            "kept_policy",
            "a policy on an application table",
            "create table app_notes (owner uuid); alter table app_notes enable row level security; " +
                "create policy app_own on app_notes using (owner = memory_stack.request_user_id())",
            "- policy app_own on table public.app_notes (on function memory_stack.request_user_id())",
            "drop policy app_own on public.app_notes",
        ],
    ] as const) {
        it(`refuses when ${what} calls it, drops nothing, and the database deploys again once it is removed`, async () => {
            const { client, env, roleNames, flags } = await deployed(prefix);
            await client.query(create);
            const before = await databaseFingerprint(client, roleNames);

            const refused = await cli(["rollback", "--allow-data-loss"], env);

            expect(refused.code).toBe(1);
            expect(refused.stdout).not.toContain("kept");
            expect(refused.stderr).toContain(
                "refusing to roll back the memory schema: 1 object the stack did not create depends on what it would drop",
            );
            expect(refused.stderr).toContain(`${line}: ${fix}\n`);
            expect(await databaseFingerprint(client, roleNames)).toEqual(before);

            await client.query(fix);
            const rollback = await cli(["rollback", "--allow-data-loss"], env);
            expect(rollback.code, rollback.stderr).toBe(0);
            expect(rollback.stdout).not.toContain("kept");
            expect((await client.query("select to_regprocedure('memory_stack.request_user_id()') as f")).rows[0].f).toBeNull();
            const plan = await cli(["plan", ...flags], env);
            expect(plan.code, plan.stdout + plan.stderr).toBe(0);
            const apply = await cli(["apply", ...flags], env);
            expect(apply.code, apply.stderr).toBe(0);
        });
    }
});

describe("what rollback.sql keeps", () => {
    it("keeps its record, so the next apply takes it as the stack's and the next rollback drops it", async () => {
        const { client, env, flags } = await deployed("kept_extension");
        await client.query("create table app_things (id uuid default uuid_generate_v4())");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(
            'kept (other objects depend on them): extension "uuid-ossp"; their records stay in memory_stack.created_objects, ' +
                "so the next apply takes them as the stack's and a later rollback drops them",
        );
        expect(await records(client)).toEqual(['extension "uuid-ossp"']);
        expect((await client.query("select count(*)::int as n from memory_stack.migrations")).rows[0].n).toBe(0);

        const apply = await cli(["apply", ...flags], env);
        expect(apply.code, apply.stderr).toBe(0);
        expect(await records(client)).toContain('extension "uuid-ossp"');
        await client.query("drop table app_things");
        const again = await cli(["rollback"], env);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).not.toContain("kept");
        expect((await client.query("select count(*)::int as n from pg_extension where extname = 'uuid-ossp'")).rows[0].n).toBe(0);
        expect((await client.query("select to_regnamespace('memory_stack') as s")).rows[0].s).toBeNull();
    });

    it("run by hand, keeps a function the application calls as the stack's: plan and apply go through afterwards", async () => {
        const { client, env, flags } = await deployed("kept_by_hand");
        await client.query("create table app_def (id int, u uuid default memory_stack.request_user_id())");

        await client.query(loadRollbackSql());

        expect(await records(client)).toEqual(["function memory_stack.request_user_id()"]);
        const plan = await cli(["plan", ...flags], env);
        expect(plan.code, plan.stdout + plan.stderr).toBe(0);
        expect(plan.stdout).not.toContain("conflict");
        const apply = await cli(["apply", ...flags], env);
        expect(apply.code, apply.stderr).toBe(0);
    });
});

describe("a conflict in schema memory_stack", () => {
    it("names schema memory_stack, not public", async () => {
        const { client, env, flags } = await database("kept_schema");
        await client.query(`create schema memory_stack;
            create function memory_stack.request_user_id() returns uuid language sql as 'select null::uuid';
            create table memory_stack.app_settings (k text)`);

        const plan = await cli(["plan", ...flags], env);

        expect(plan.code).toBe(1);
        const output = plan.stdout + plan.stderr;
        expect(output).toContain(
            "- function memory_stack.request_user_id(): exists and is not the stack's, and the memory schema creates a function named " +
                "memory_stack.request_user_id. Rename or move the application's object out of schema memory_stack, or deploy",
        );
        expect(output).toContain(
            "- schema memory_stack: exists, holds objects and has no memory-stack ledger: the stack keeps its bookkeeping there. " +
                "Rename the application's schema (alter schema memory_stack rename to ...), or deploy",
        );
        expect(output).not.toContain("schema public");
    });
});
