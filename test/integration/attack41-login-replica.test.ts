// BUG on 454c876: with createRoles: false the application logs in as `<appRole>_login` (options=-c role=<appRole>), and a
// login's session takes the login's own settings, not the role's it becomes. `alter role memory_app_login set
// session_replication_role = replica` (another database's operator's bulk load, say) had every app session fire no trigger
// and check no foreign key here, while verify, reading the settings of the app and admin roles alone, passed. It now reads
// those of every login that is a member of either.
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import { withClient } from "../support/database";

const cliDatabase = cliDatabases();

describe("session_replication_role = replica set on a login that becomes the app role", () => {
    it("fails verify naming the login and the statement that lifts it", async () => {
        const { db, appRole, roleFlags, env } = await cliDatabase("a41_login_replica");
        const apply = await cli(["apply", ...roleFlags], env);
        expect(apply.code, apply.stderr).toBe(0);
        const login = `${appRole}_login`;
        const elsewhere = (sql: string) => withClient({ ...db.config, database: "postgres" }, (admin) => admin.query(sql));
        await elsewhere(`create role "${login}" login noinherit password 'a41-login'; grant "${appRole}" to "${login}"`);
        try {
            await elsewhere(`alter role "${login}" set session_replication_role = replica`);
            // What the application's connection string gets (README: appConnectionString with createRoles: false).
            const session = await withClient(
                { ...db.config, user: login, password: "a41-login", options: `-c role=${appRole}` },
                async (app) => (await app.query("select current_user, current_setting('session_replication_role') as setting")).rows[0],
            );
            expect(session).toEqual({ current_user: appRole, setting: "replica" });

            const verify = await cli(["verify"], env);
            expect(verify.code).toBe(1);
            expect(verify.stdout + verify.stderr).toContain(
                `trigger triggers and foreign keys of ${login}: do not fire in its own sessions: session_replication_role = replica`,
            );
            expect(verify.stdout + verify.stderr).toContain(`alter role "${login}" reset session_replication_role, then verify again`);

            await elsewhere(`alter role "${login}" reset session_replication_role`);
            const lifted = await cli(["verify"], env);
            expect(lifted.code, lifted.stdout + lifted.stderr).toBe(0);
        } finally {
            await elsewhere(`drop role if exists "${login}"`);
        }
    });
});
