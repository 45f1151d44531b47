// BUG on 0b697ca: an application's database with `alter database … set datestyle = 'SQL, DMY'` (or German, Postgres):
// the first apply went through, then every command that reads the ledger (status, verify, plan, a second apply,
// rollback, and the Pulumi providers) failed with "Cannot read properties of null (reading 'getTime')": node-postgres
// parses a timestamptz only in ISO, so applied_at read as null. The ledger is now read in ISO whatever the DateStyle.
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe.each(["SQL, DMY", "German, DMY", "Postgres, MDY"])("a database whose DateStyle is %s", (style) => {
    it("is applied, reported, applied again and rolled back", async () => {
        const db = await freshDatabase("a28_datestyle");
        databases.push(db);
        const client = await db.connect();
        await client.query(`alter database ${db.name} set datestyle = '${style}'`);
        const names = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
        roles.push(`${db.name}_app`, `${db.name}_admin`);
        const env = { DATABASE_URL: db.url };

        const apply = await cli(["apply", ...names], env);
        expect(apply.code, apply.stderr).toBe(0);
        const status = await cli(["status"], env);
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(/applied {2}0014_similarity_jsonb_fast\.sql {2}jsonb {2}\d{4}-\d\d-\d\dT/);
        const again = await cli(["apply"], env);
        expect(again.code, again.stderr).toBe(0);
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain("rolled back the memory schema");
    });
});
