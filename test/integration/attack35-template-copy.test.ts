// BUG on 6b0c820: a database made from a deployed one as a template (`createdb -T staging staging_copy`, `create database …
// template …`). The copy keeps every oid, but its records carry the template's database oid, so they were taken as from
// another server (a dump restored elsewhere) and ownership went by name alone: an application's view created in the copy
// under a name the stack's had (dropped first) passed verify as the stack's and was dropped by rollback (and by
// sql/rollback.sql run by hand), while the same in the template was left alone. The records' oids now count in such a copy
// (identity.ts COPIED_FROM, and the same check in sql/rollback.sql).
// BUG on 454c876 (attack41): in a copy where the previous release applied migrations (a staging copy upgraded first), those
// records carry the copy's own origin; once the copy was known as a copy only the template's origin was compared, so they
// went by name alone again. The copy's own records count beside the template's.
import type { ClientConfig } from "pg";
import { describe, expect, it } from "vitest";
import { loadRollbackSql } from "../../engine/migrate/index";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import { withClient } from "../support/database";

const cliDatabase = cliDatabases();

// What the previous release wrote in the copy for the migrations it applied there: the copy's own origin (it knew no copies).
const APPLIED_IN_THE_COPY = `update memory_stack.created_objects
   set origin = (select system_identifier::text from pg_catalog.pg_control_system()) || '/'
                || (select oid::text from pg_catalog.pg_database where datname = current_database())
 where migration >= '0006'`;
const APP_VIEW = "drop view public.recent_agent_activity; create view public.recent_agent_activity as select 1 as app_owned";

describe("a database copied from a deployed one as its template", () => {
    it.each([
        ["as copied", "a35_template", []],
        ["with later migrations the previous release recorded in the copy", "a41_copy_own", [APPLIED_IN_THE_COPY]],
    ])(
        "%s: knows the application's object under a recorded name as not the stack's; rollback, and rollback.sql by hand, leave it",
        async (_, label, inTheCopy) => {
            const { db, client, roleFlags, env } = await cliDatabase(label);
            const apply = await cli(["apply", ...roleFlags], env);
            expect(apply.code, apply.stderr).toBe(0);
            await client.end(); // a template may have no other session
            const maintenance = { ...db.config, database: "postgres" };
            const copies = [`${db.name}_copy`, `${db.name}_copy_by_hand`];
            const copy = (name: string): ClientConfig => ({ ...db.config, database: name });
            const appOwned = (name: string) =>
                withClient(copy(name), async (app) => (await app.query("select app_owned from public.recent_agent_activity")).rows);
            try {
                for (const name of copies) {
                    await withClient(maintenance, (admin) => admin.query(`create database "${name}" template "${db.name}"`));
                    await withClient(copy(name), async (app) => {
                        for (const sql of [...inTheCopy, APP_VIEW]) await app.query(sql);
                    });
                }
                const copyEnv = { DATABASE_URL: db.url.replace(/\/[^/]+$/, `/${copies[0]}`) };

                const verify = await cli(["verify"], copyEnv);
                expect(verify.code).toBe(1);
                expect(verify.stdout + verify.stderr).toContain("view public.recent_agent_activity: not the stack's");
                const rollback = await cli(["rollback"], copyEnv);
                expect(rollback.code, rollback.stderr).toBe(0);
                expect(rollback.stdout).toContain(
                    "created again by someone else after the stack's was dropped): view public.recent_agent_activity;",
                );
                expect(await appOwned(copies[0])).toEqual([{ app_owned: 1 }]);

                await withClient(copy(copies[1]), (owner) => owner.query(loadRollbackSql()));
                expect(await appOwned(copies[1])).toEqual([{ app_owned: 1 }]);

                const original = await cli(["verify"], env);
                expect(original.code, original.stdout + original.stderr).toBe(0);
            } finally {
                for (const name of copies) {
                    await withClient(maintenance, (admin) => admin.query(`drop database if exists "${name}" with (force)`));
                }
            }
        },
    );
});
