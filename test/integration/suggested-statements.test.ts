// A deployer that is no superuser (CREATEROLE, as on a managed server), named as a URL may name it. From attack24:
// it was told `grant create on database to Deploy-Er`, with no database and an unquoted name, and verify's
// `grant <role> to Deploy-Er`: syntax errors when pasted into psql. And after its apply created the roles, verify
// failed until it was made their member by hand, which pulumi up's Access component does itself.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, withClient, type TestDatabase } from "../support/database";

const deployer = "Deploy-Er a24";
const password = "deployer-pw";
const databases: TestDatabase[] = [];
const roleNames: string[] = [deployer];
let admin: Client;

beforeAll(async () => {
    const first = await target("suggested_setup");
    admin = await first.db.connect();
    await admin.query(`create role "${deployer}" login createrole password '${password}'`);
});

afterAll(async () => {
    await admin?.end();
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roleNames);
});

/** A fresh database, the deployer's URL to it, and role flags of its own. */
async function target(
    prefix: string,
): Promise<{ db: TestDatabase; env: NodeJS.ProcessEnv; roles: string[]; app: string; adminRole: string }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const url = new URL(db.url);
    url.username = encodeURIComponent(deployer);
    url.password = password;
    const [app, adminRole] = [`${db.name}_app`, `${db.name}_admin`];
    roleNames.push(app, adminRole);
    return { db, env: { DATABASE_URL: url.toString() }, roles: ["--app-role", app, "--admin-role", adminRole], app, adminRole };
}

/** Runs `sql` as the admin in `db` (a schema's grants are the database's). */
const inDatabase = (db: TestDatabase, sql: string) => withClient(db.config, (client) => client.query(sql));

/** The statement the output suggests after `prefix`, up to the clause that follows it. */
function suggested(output: string, prefix: string): string {
    const start = output.indexOf(prefix);
    expect(start, output).toBeGreaterThanOrEqual(0);
    return output.slice(start).split(/, or |\n|; /)[0];
}

describe("a deployer whose name needs quoting", () => {
    it("is told statements that run as written: the rights an apply needs, then the memberships verify needs", async () => {
        const { db, env, roles, app, adminRole } = await target("suggested_statements");
        // Roles of the application's, not created by the stack: verification names what they need, apply leaves them.
        await admin.query(`create role ${app} nologin; create role ${adminRole} nologin`);
        const refused = await cli(["apply", ...roles], env);
        expect(refused.code).toBe(1);
        const onDatabase = suggested(refused.stderr, "grant create on database ");
        expect(onDatabase).toBe(`grant create on database ${db.name} to "${deployer}"`);
        await admin.query(onDatabase);
        await inDatabase(db, suggested(refused.stderr, "grant create on schema public to "));

        const applied = await cli(["apply", ...roles], env);
        expect(applied.code, applied.stderr).toBe(0);

        const verify = await cli(["verify", ...roles], env);
        expect(verify.code).toBe(1);
        for (const role of [app, adminRole]) {
            const membership = suggested(verify.stdout, `grant ${role} to `);
            expect(membership).toBe(`grant ${role} to "${deployer}"`);
            await admin.query(membership);
        }
        const verified = await cli(["verify", ...roles], env);
        expect(verified.code, verified.stdout).toBe(0);
    });
});

describe("a deployer with CREATEROLE whose apply created the roles", () => {
    it("is made their member, so verify passes right after the apply; rollback still drops the roles", async () => {
        const { db, env, roles, app, adminRole } = await target("suggested_member");
        await admin.query(`grant create on database ${db.name} to "${deployer}"`);
        await inDatabase(db, `grant create on schema public to "${deployer}"`);

        const applied = await cli(["apply", ...roles], env);
        expect(applied.code, applied.stderr).toBe(0);
        const verify = await cli(["verify", ...roles], env);
        expect(verify.code, verify.stdout).toBe(0);

        const rollback = await cli(["rollback", ...roles], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        const left = await admin.query("select rolname from pg_roles where rolname = any($1)", [[app, adminRole]]);
        expect(left.rows).toEqual([]);
    });
});
