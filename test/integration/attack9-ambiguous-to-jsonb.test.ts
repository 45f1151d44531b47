// attack9: the CLI reads the ledger before it takes the migration lock, on the caller's search_path ("$user", public).
// readLedger's to_jsonb(m) (kept so the columns releases 1 and 2 lacked read as null) named pg_catalog's to_jsonb(anyelement)
// unqualified: a to_jsonb(record) that a role able to create in public planted there made the call ambiguous, and every
// command — status, plan, verify, apply, rollback — failed with `function to_jsonb(memory_stack.migrations) is not unique`.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let client: Client;
let planter: string;

beforeAll(async () => {
    db = await freshDatabase("attack9_to_jsonb");
    client = await db.connect();
    planter = `${db.name}_planter`;
    await client.query(`create role ${planter} login password 'pw'; grant create on schema public to ${planter}`);
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`, planter]);
});

describe("a role that can create in public plants to_jsonb(record)", () => {
    it("does not stop the CLI's commands", async () => {
        const env = { DATABASE_URL: db.url };
        const roles = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
        const applied = await cli(["apply", ...roles], env);
        expect(applied.code, applied.stderr).toBe(0);
        const asPlanter = await db.connect({ user: planter, password: "pw" });
        await asPlanter.query("create function public.to_jsonb(record) returns jsonb language plpgsql as $$ begin return '{}'; end $$");
        await asPlanter.end();

        for (const command of ["status", "plan", "verify", "apply"]) {
            const run = await cli([command], env);
            // Fails: "function to_jsonb(memory_stack.migrations) is not unique".
            expect(run.stderr).not.toContain("is not unique");
            expect(run.code, `${command}: ${run.stderr}`).toBe(0);
        }
    });
});
