// BUG on 6b0c820: a database made from a deployed one as a template (`createdb -T staging staging_copy`, `create database …
// template …`). The copy keeps every oid, but its records carry the template's database oid, so they were taken as from
// another server (a dump restored elsewhere) and ownership went by name alone: an application's view created in the copy
// under a name the stack's had (dropped first) passed verify as the stack's and was dropped by rollback (and by
// sql/rollback.sql run by hand), while the same in the template was left alone. The records' oids now count in such a copy
// (identity.ts COPIED_FROM, and the same check in sql/rollback.sql).
import type { ClientConfig } from "pg";
import { describe, expect, it } from "vitest";
import { loadRollbackSql } from "../../engine/migrate/index";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import { withClient } from "../support/database";

const cliDatabase = cliDatabases();

const APP_VIEW = "drop view public.recent_agent_activity; create view public.recent_agent_activity as select 1 as app_owned";

describe("a database copied from a deployed one as its template", () => {
    it("knows the application's object under a recorded name as not the stack's; rollback, and rollback.sql by hand, leave it", async () => {
        const { db, client, roleFlags, env } = await cliDatabase("a35_template");
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
                await withClient(copy(name), (app) => app.query(APP_VIEW));
            }
            const copyEnv = { DATABASE_URL: db.url.replace(/\/[^/]+$/, `/${copies[0]}`) };

            const verify = await cli(["verify"], copyEnv);
            expect(verify.code).toBe(1);
            expect(verify.stdout + verify.stderr).toContain("view public.recent_agent_activity: not the stack's");
            const rollback = await cli(["rollback"], copyEnv);
            expect(rollback.code, rollback.stderr).toBe(0);
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
    });
});
