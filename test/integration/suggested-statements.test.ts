// The statements a refusal suggests run as written. From attack24: a deployer named Deploy-Er (a login any
// URL can carry) was told `grant create on database to Deploy-Er`, with no database and an unquoted name,
// and verify's `grant <role> to Deploy-Er`: both syntax errors when pasted into psql.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const deployer = "Deploy-Er a24";
const password = "deployer-pw";
let db: TestDatabase;
let admin: Client;
let roles: string[];
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
    db = await freshDatabase("suggested_statements");
    admin = await db.connect();
    await admin.query(`create role "${deployer}" login createrole password '${password}'`);
    const url = new URL(db.url);
    url.username = encodeURIComponent(deployer);
    url.password = password;
    env = { DATABASE_URL: url.toString() };
    roles = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
});

afterAll(async () => {
    await admin?.end();
    await db?.drop();
    await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`, deployer]);
});

/** The statement the output suggests after `prefix`, up to the clause that follows it. */
function suggested(output: string, prefix: string): string {
    const start = output.indexOf(prefix);
    expect(start, output).toBeGreaterThanOrEqual(0);
    return output.slice(start).split(/, or |\n|; /)[0];
}

describe("a deployer whose name needs quoting", () => {
    it("is told statements that run as written: the rights an apply needs, then the memberships verify needs", async () => {
        const refused = await cli(["apply", ...roles], env);
        expect(refused.code).toBe(1);
        const onDatabase = suggested(refused.stderr, "grant create on database ");
        expect(onDatabase).toBe(`grant create on database ${db.name} to "${deployer}"`);
        await admin.query(onDatabase);
        await admin.query(suggested(refused.stderr, "grant create on schema public to "));

        const applied = await cli(["apply", ...roles], env);
        expect(applied.code, applied.stderr).toBe(0);

        const verify = await cli(["verify", ...roles], env);
        expect(verify.code).toBe(1);
        for (const role of [`${db.name}_app`, `${db.name}_admin`]) {
            const membership = suggested(verify.stdout, `grant ${role} to `);
            expect(membership).toBe(`grant ${role} to "${deployer}"`);
            await admin.query(membership);
        }
        const verified = await cli(["verify", ...roles], env);
        expect(verified.code, verified.stdout).toBe(0);
    });
});
