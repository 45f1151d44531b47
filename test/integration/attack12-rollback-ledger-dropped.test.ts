// Held on b2b6cb7, with a misleading message: an application (or an operator cleaning up) that drops the
// stack's bookkeeping (`drop schema memory_stack cascade`) leaves the memory tables with no record of
// being the stack's. Rollback then drops nothing — right: nothing is recorded — but said "the memory
// schema is not in this database" while its seven tables sat there, so a user took the database for
// clean. It now says what it knows: there is no ledger, so nothing is recorded as the stack's.
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("rollback after the stack's ledger was dropped", () => {
    it("drops nothing and says there is no ledger, not that the schema is absent", async () => {
        const db = await freshDatabase("a12_ledger_dropped");
        databases.push(db);
        roles.push(`${db.name}_app`, `${db.name}_admin`);
        const env = { DATABASE_URL: db.url };
        expect((await cli(["apply", "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`], env)).code).toBe(0);
        const client = await db.connect();
        await client.query("drop schema memory_stack cascade");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain("no memory-stack ledger");
        expect(rollback.stdout).not.toContain("the memory schema is not in this database");
        expect((await client.query("select to_regclass('public.sessions') as t")).rows[0].t).toBe("sessions");
    });
});
