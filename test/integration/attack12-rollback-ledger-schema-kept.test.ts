// BUG on b2b6cb7: an application object in the stack's own schema memory_stack (a cache table a
// developer put "next to the memory stuff") keeps the schema at rollback, as it should, but rollback.sql
// drops the ledger and the records first, so what is left is a schema memory_stack with no ledger: the
// next apply refuses it as the application's ("schema memory_stack: exists, holds objects and has no
// memory-stack ledger … Rename the application's schema"). The rollback itself exits 0. What a user
// loses: apply → rollback → apply; the stack cannot be deployed again on that database until they move
// their table and drop the stack's schema by hand. A kept memory_stack keeps its emptied ledger, as a
// rollback that keeps an extension does.
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("rollback with an application table in schema memory_stack", () => {
    it("keeps the schema and the application's rows, and the next apply deploys again", async () => {
        const db = await freshDatabase("a12_ledger_schema_kept");
        databases.push(db);
        const flags = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
        roles.push(`${db.name}_app`, `${db.name}_admin`);
        const env = { DATABASE_URL: db.url };
        expect((await cli(["apply", ...flags], env)).code).toBe(0);
        const client = await db.connect();
        await client.query(
            "create table memory_stack.app_cache (key text primary key, value text); insert into memory_stack.app_cache values ('k', 'v')",
        );

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stderr).toContain("kept schema memory_stack");
        expect((await client.query("select to_regclass('public.sessions') as t")).rows[0].t).toBeNull();
        const again = await cli(["apply", ...flags], env);
        expect(again.code, again.stderr).toBe(0);
        expect((await client.query("select key, value from memory_stack.app_cache")).rows).toEqual([{ key: "k", value: "v" }]);
    });
});
