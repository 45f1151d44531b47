// BUG on b2b6cb7: a database a newer memory-stack migrated (its ledger lists a migration this release does
// not have, and its records an object of a kind this release does not know, here an event trigger) is
// refused by apply, plan and status with "a newer or different memory-stack migrated this database".
// Rollback instead called the newer release's own recorded event trigger "an object the stack did not
// create" and told the user to remove it, and once that was gone failed inside rollback.sql with "null
// values cannot be formatted as an SQL identifier"; verify failed with that same message. Nothing was
// dropped, but what a user loses is the way forward: the messages send them to drop the stack's own
// objects by hand instead of to the release that can roll them back.
import type { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
});

/** What a newer release's 0099 would leave: its ledger row and the records of what it created, an event trigger and its function. */
async function migratedByNewerRelease(client: Client): Promise<void> {
    await client.query(`begin;
        create function memory_stack.newer_on_ddl() returns event_trigger language plpgsql as $$ begin end $$;
        create event trigger memory_stack_newer on ddl_command_end execute function memory_stack.newer_on_ddl();
        insert into memory_stack.migrations (name, checksum, variant, duration_ms, options, recorded)
            select '0099_newer.sql', repeat('a', 64), variant, 1, options, true from memory_stack.migrations order by name desc limit 1;
        insert into memory_stack.created_objects (position, migration, kind, identity, schema_name, name, arguments, oid, origin)
            select max(position) + 1, '0099_newer.sql', 'function', 'function memory_stack.newer_on_ddl()', 'memory_stack', 'newer_on_ddl', '',
                   'memory_stack.newer_on_ddl()'::regprocedure::oid, max(origin) from memory_stack.created_objects;
        insert into memory_stack.created_objects (position, migration, kind, identity, name, oid, origin)
            select max(position) + 1, '0099_newer.sql', 'event trigger', 'event trigger memory_stack_newer', 'memory_stack_newer',
                   (select oid from pg_event_trigger where evtname = 'memory_stack_newer'), max(origin) from memory_stack.created_objects;
        commit`);
}

describe("a database a newer release migrated", () => {
    it("is not rolled back by this release, which says why and drops nothing; verify says it too", async () => {
        const db = await freshDatabase("a12_newer_release");
        databases.push(db);
        roles.push(`${db.name}_app`, `${db.name}_admin`);
        const env = { DATABASE_URL: db.url };
        expect((await cli(["apply", "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`], env)).code).toBe(0);
        const client = await db.connect();
        await migratedByNewerRelease(client);

        const rollback = await cli(["rollback"], env);

        expect(rollback.code).toBe(1);
        expect(rollback.stderr).toContain("event trigger memory_stack_newer (recorded by 0099_newer.sql)");
        expect(rollback.stderr).toContain("a newer memory-stack");
        expect(rollback.stderr).not.toContain("the stack did not create");
        expect((await client.query("select to_regclass('public.sessions') as t")).rows[0].t).toBe("sessions");
        const verify = await cli(["verify"], env);
        expect(verify.stderr + verify.stdout).not.toContain("null values cannot be formatted");
    });
});
