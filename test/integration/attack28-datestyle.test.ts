// BUG on 0b697ca: an application's database with `alter database … set datestyle = 'SQL, DMY'` (or German, Postgres):
// the first apply went through, then every command that reads the ledger (status, verify, plan, a second apply,
// rollback, and the Pulumi providers) failed with "Cannot read properties of null (reading 'getTime')": node-postgres
// parses a timestamptz only in ISO, so applied_at read as null. The ledger is now read in ISO whatever the DateStyle.
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

describe.each(["SQL, DMY", "German, DMY", "Postgres, MDY"])("a database whose DateStyle is %s", (style) => {
    it("is applied, reported, applied again and rolled back", async () => {
        const { db, client, roleFlags: names, env } = await cliDatabase("a28_datestyle");
        await client.query(`alter database ${db.name} set datestyle = '${style}'`);

        const apply = await cli(["apply", ...names], env);
        expect(apply.code, apply.stderr).toBe(0);
        const status = await cli(["status"], env);
        expect(status.code, status.stderr).toBe(0);
        // The time the ledger holds, to the millisecond: a date read as null showed 1970-01-01 and matched any date's shape.
        const ledger = await client.query<{ ms: string }>(
            "select floor(extract(epoch from applied_at) * 1000)::bigint as ms from memory_stack.migrations where name = '0014_similarity_jsonb_fast.sql'",
        );
        const appliedAt = new Date(Number(ledger.rows[0].ms)).toISOString();
        expect(status.stdout).toContain(`applied  0014_similarity_jsonb_fast.sql  jsonb  ${appliedAt}`);
        const again = await cli(["apply"], env);
        expect(again.code, again.stderr).toBe(0);
        const rollback = await cli(["rollback"], env);
        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).toContain("rolled back the memory schema");
    });
});
