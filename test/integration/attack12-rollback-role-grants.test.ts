// BUG on b2b6cb7: an application that lets the agents' role read its own tables (`grant select on
// app_orders to memory_app`, `alter default privileges … grant select on tables to memory_app`, a policy
// `… to memory_app` on its own table) loses those grants, and the policy, to a rollback by a superuser:
// rollback.sql runs `drop owned by memory_app`, which revokes every privilege the role holds in the
// database, the application's included, drops the application's policy naming it, and drops the role;
// the rollback reports nothing. (A role's grants in another database keep it, and so does a non-superuser
// deployer, who cannot run `drop owned`: the same database lost the grants or kept them depending on who
// rolled back.) What a user loses: the application's own ACLs, default privileges and policies, silently,
// and with them its login's access to its own tables through the role — changed by a stack that did not
// create them. A role the application's grants hold is kept and reported, as an extension the application
// uses is.
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

async function deployed(prefix: string): Promise<{ client: Client; env: NodeJS.ProcessEnv; app: string }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const app = `${db.name}_app`;
    roles.push(app, `${db.name}_admin`);
    const env = { DATABASE_URL: db.url };
    const apply = await cli(["apply", "--app-role", app, "--admin-role", `${db.name}_admin`], env);
    expect(apply.code, apply.stderr).toBe(0);
    return { client: await db.connect(), env, app };
}

describe("rollback of a role the application granted privileges on its own objects", () => {
    it("keeps the role and the application's policy naming it", async () => {
        const { client, env, app } = await deployed("a12_role_policy");
        await client.query(`create table public.app_notes (id int primary key, body text); alter table public.app_notes enable row level security;
            create policy app_notes_agents on public.app_notes for select to ${app} using (true)`);

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(`role ${app}`);
        const policy = await client.query<{ roles: string[] }>(
            "select roles::text[] from pg_policies where policyname = 'app_notes_agents'",
        );
        expect(policy.rows).toEqual([{ roles: [app] }]);
    });

    it("keeps the role and the application's grant on its table, and says so", async () => {
        const { client, env, app } = await deployed("a12_role_grant");
        await client.query(`create table public.app_orders (id int primary key); grant select on public.app_orders to ${app}`);

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(`kept (other objects depend on them): role ${app}`);
        const acl = await client.query<{ acl: string[] }>(
            "select relacl::text[] as acl from pg_class where oid = 'public.app_orders'::regclass",
        );
        expect(acl.rows[0].acl).toContain(`${app}=r/postgres`);
    });

    it("keeps the role and the application's default privileges for it", async () => {
        const { client, env, app } = await deployed("a12_role_default_acl");
        await client.query(`alter default privileges in schema public grant select on tables to ${app}`);

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(`role ${app}`);
        const defaults = await client.query<{ acl: string[] }>("select defaclacl::text[] as acl from pg_default_acl");
        expect(defaults.rows.flatMap((row) => row.acl)).toContain(`${app}=r/postgres`);
    });

    it("still drops the role when only the stack's own grants hold it: on schema auth, kept for an application's table in it", async () => {
        const { client, env, app } = await deployed("a12_role_auth_kept");
        await client.query("create table auth.app_tokens (token text primary key)");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain("kept (other objects depend on them): schema auth;");
        expect(rollback.stdout).not.toContain(`role ${app}`);
        expect((await client.query("select to_regrole($1) as role", [app])).rows[0].role).toBeNull();
    });

    it("keeps the role while a login of the application's is a member of it, so the membership survives the round trip", async () => {
        const { client, env, app } = await deployed("a12_role_member");
        const login = `${app}_login`;
        roles.unshift(login);
        await client.query(`create role ${login} login; grant ${app} to ${login}`);

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain(`role ${app}`);
        const member = await client.query<{ member: boolean }>("select pg_has_role($1, $2, 'member') as member", [login, app]);
        expect(member.rows[0].member).toBe(true);
    });
});
