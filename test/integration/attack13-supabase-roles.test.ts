// A Supabase-like database as the README's createRoles false path meets it: the deployer owns the database and is no
// superuser but has CREATEROLE and BYPASSRLS and is a member of the API roles (Supabase grants them to postgres); the
// app role (authenticated) and the admin role (service_role, BYPASSRLS) exist, NOINHERIT, and PostgREST's authenticator
// logs in and may become either. The membership checks attack11 added to the preflight and to verify must not take
// any of that for the app role reaching every row: apply and verify both go through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let roles: Record<"owner" | "anon" | "app" | "admin" | "authenticator", string>;

beforeAll(async () => {
    db = await freshDatabase("attack13_supabase");
    roles = {
        owner: `${db.name}_postgres`,
        anon: `${db.name}_anon`,
        app: `${db.name}_authenticated`,
        admin: `${db.name}_service_role`,
        authenticator: `${db.name}_authenticator`,
    };
    const { owner, anon, app, admin, authenticator } = roles;
    const superuser = await db.connect();
    await superuser.query(`create role ${owner} login password 'owner-pw-123' createrole createdb bypassrls;
        alter database ${db.name} owner to ${owner}; grant create on schema public to ${owner};
        create role ${anon} nologin noinherit; create role ${app} nologin noinherit; create role ${admin} nologin noinherit bypassrls;
        create role ${authenticator} login noinherit; grant ${anon}, ${app}, ${admin} to ${authenticator};
        grant ${anon}, ${app}, ${admin} to ${owner}`);
    const server = sharedServer();
    env = { DATABASE_URL: `postgresql://${owner}:owner-pw-123@${server.host}:${server.port}/${db.name}` };
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), roles ? [roles.authenticator, roles.anon, roles.app, roles.admin, roles.owner] : []);
});

describe("a Supabase-like database", () => {
    it("is applied and verified, nothing refused", async () => {
        const apply = await cli(["apply", "--app-role", roles.app, "--admin-role", roles.admin], env);
        expect(apply.code, apply.stderr).toBe(0);

        const verify = await cli(["verify"], env);
        expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    });
});
