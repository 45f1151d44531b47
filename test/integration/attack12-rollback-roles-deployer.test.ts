// BUG on b2b6cb7: rolled back by a deployer that is not a superuser (managed PostgreSQL: a login role with
// CREATEROLE that owns the database), the roles the stack created are never dropped. rollback.sql's
// `drop owned by` needs membership in the role, so it is skipped; the stack's own `grant usage on schema
// memory_stack` (0011) then keeps `drop role` from succeeding, the role is "kept (other objects depend on
// them)" — nothing of the application's does — and its record keeps schema memory_stack, which keeps the
// grant: every later rollback ends the same way, although docs/migrations-safety.md says a later rollback
// drops it "once nothing depends on it". What a user loses: `pulumi destroy` never removes the stack's
// roles or its schema memory_stack, and says something else holds them.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { managedOwner } from "../support/managed-owner";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

describe("rollback by a deployer that is not a superuser", () => {
    it("drops the roles the stack created and its schema memory_stack, when nothing of the application's holds them", async () => {
        const db = await freshDatabase("a12_roles_deployer");
        databases.push(db);
        const { name: owner, env } = await managedOwner(db);
        const stackRoles = [`${db.name}_app`, `${db.name}_admin`];
        roles.push(...stackRoles, owner);
        const admin: Client = await db.connect();
        const apply = await cli(["apply", "--app-role", stackRoles[0], "--admin-role", stackRoles[1]], env);
        expect(apply.code, apply.stderr).toBe(0);
        const created = await admin.query<{ identity: string }>(
            "select identity from memory_stack.created_objects where kind = 'role' order by 1",
        );
        expect(created.rows.map((row) => row.identity)).toEqual(stackRoles.map((role) => `role ${role}`).sort());

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        expect(rollback.stdout).not.toContain("kept");
        const left = await admin.query<{ roles: string[]; schema: string | null }>(
            "select array(select rolname::text from pg_roles where rolname = any($1) order by 1) as roles, to_regnamespace('memory_stack')::text as schema",
            [stackRoles],
        );
        expect(left.rows[0]).toEqual({ roles: [], schema: null });
    });
});
