// verify (and the Verification resource on `pulumi refresh`) checks that the app role is no superuser, has no
// BYPASSRLS and cannot SET ROLE to the admin role or the owner. An app role given CREATEROLE after the deploy
// passed: on PostgreSQL 15 it can `grant <admin role> to <itself>`, then `set role` and see every user's rows
// and run forget_user. The preflight refuses such a role before an apply; verify must say so of a deployed one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let roles: string[];

beforeAll(async () => {
    db = await freshDatabase("attack11_verify_createrole");
    env = { DATABASE_URL: db.url };
    roles = [`${db.name}_app`, `${db.name}_admin`];
    const apply = await cli(["apply", "--app-role", roles[0], "--admin-role", roles[1]], env);
    expect(apply.code, apply.stderr).toBe(0);
    const client = await db.connect();
    await client.query(`alter role ${roles[0]} login createrole`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), roles ?? []);
});

describe("verify with an app role that was given CREATEROLE", () => {
    it("fails naming the attribute and how to take it back", async () => {
        const verify = await cli(["verify"], env);

        expect(verify.code).toBe(1);
        expect(verify.stdout).toContain(`role ${roles[0]}`);
        expect(verify.stdout).toContain("CREATEROLE");
        expect(verify.stdout).toContain(`alter role ${roles[0]} nocreaterole`);
    });
});

describe("verify with an app role that was made a member of a role with BYPASSRLS", () => {
    it("fails naming the role it can become and how to take it back", async () => {
        const bypasser = `${db.name}_reporting`;
        roles.push(bypasser);
        const client = await db.connect();
        await client.query(
            `alter role ${roles[0]} nocreaterole; create role ${bypasser} nologin bypassrls; grant ${bypasser} to ${roles[0]}`,
        );
        const verify = await cli(["verify"], env);

        expect(verify.code).toBe(1);
        expect(verify.stdout).toContain(`can SET ROLE to ${bypasser}`);
        expect(verify.stdout).toContain(`revoke ${bypasser} from ${roles[0]}`);
    });
});
