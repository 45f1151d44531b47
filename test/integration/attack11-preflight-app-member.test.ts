// README, Ownership: "A preflight lists every conflict before any change (… missing rights …) and refuses the
// whole apply"; the preflight already refuses an app role that is a superuser or has BYPASSRLS, since row level
// security would not apply to it. An existing app role that is a member of the owner (an application that
// once ran `grant postgres to app`) is the same: it owns the memory tables through that membership and sees
// every user's rows. apply went through (exit 0), and only a later `memory-stack verify` said "can SET ROLE to
// <owner>, which sees other users' rows": a pipeline that applies without verifying served every tenant's
// memories to every request.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";

let db: TestDatabase;
let owner: string;
let app: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
    db = await freshDatabase("attack11_app_member");
    const deployer = await managedOwner(db);
    ({ name: owner, env } = deployer);
    app = `${db.name}_app`;
    const admin = await db.connect();
    await admin.query(`create role ${app} login; grant ${owner} to ${app}`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [app, `${db.name}_admin`, owner]);
});

describe("apply with an app role that is a member of the owner", () => {
    it("refuses before any change, naming the role and the membership", async () => {
        const apply = await cli(["apply", "--app-role", app, "--admin-role", `${db.name}_admin`], env);

        expect(apply.code).toBe(1);
        expect(apply.stderr).toContain("nothing was changed");
        expect(apply.stderr).toContain(`role ${app} (appRole)`);
        expect(apply.stderr).toContain(owner);
        const check = await db.connect();
        expect((await check.query("select to_regclass('memory_stack.migrations') is null as clean")).rows[0].clean).toBe(true);
    });
});

describe("apply with an app role that is a member of the admin role", () => {
    // The same hole one role over: the admin role's policy shows it every row, and the app role can `set role` to it.
    it("refuses before any change, naming the role and the membership", async () => {
        const member = `${db.name}_app2`;
        const adminRole = `${db.name}_admin2`;
        const admin = await db.connect();
        await admin.query(`create role ${adminRole} nologin; create role ${member} login; grant ${adminRole} to ${member}`);
        try {
            const apply = await cli(["apply", "--app-role", member, "--admin-role", adminRole], env);

            expect(apply.code).toBe(1);
            expect(apply.stderr).toContain(`role ${member} (appRole)`);
            expect(apply.stderr).toContain(adminRole);
        } finally {
            await dropRoles(sharedServer(), [member, adminRole]);
        }
    });
});

describe("apply with an app role that has CREATEROLE", () => {
    // PostgreSQL 15 lets a CREATEROLE role grant itself any role that is no superuser: `grant <admin> to <app>; set role
    // <admin>` and it sees every user's rows and runs forget_user; on a managed server, where the owner is no superuser,
    // it can grant itself the owner too. Neither the preflight nor verify flagged it: both passed.
    it("refuses before any change, naming the role and the attribute", async () => {
        const creator = `${db.name}_app3`;
        const admin = await db.connect();
        await admin.query(`create role ${creator} login createrole`);
        try {
            const apply = await cli(["apply", "--app-role", creator, "--admin-role", `${db.name}_admin3`], env);

            expect(apply.code).toBe(1);
            expect(apply.stderr).toContain(`role ${creator} (appRole)`);
            expect(apply.stderr).toContain("CREATEROLE");
        } finally {
            await dropRoles(sharedServer(), [creator, `${db.name}_admin3`]);
        }
    });
});

describe("apply with an app role that is a member of a role that bypasses row level security", () => {
    // Role attributes are not inherited, but a member may `set role` to the role that has them: BYPASSRLS, CREATEROLE or
    // superuser one membership away is the app role's too.
    it("refuses before any change, naming the role it can become and why", async () => {
        const member = `${db.name}_app4`;
        const bypasser = `${db.name}_reporting`;
        const admin = await db.connect();
        await admin.query(`create role ${bypasser} nologin bypassrls; create role ${member} login; grant ${bypasser} to ${member}`);
        try {
            const apply = await cli(["apply", "--app-role", member, "--admin-role", `${db.name}_admin4`], env);

            expect(apply.code).toBe(1);
            expect(apply.stderr).toContain(`role ${member} (appRole)`);
            expect(apply.stderr).toContain(`is a member of ${bypasser}, which has BYPASSRLS`);
        } finally {
            await dropRoles(sharedServer(), [member, bypasser, `${db.name}_admin4`]);
        }
    });
});
