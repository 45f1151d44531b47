// BUG on 6b0c820: two stacks on one server share their roles' settings, which are the server's. Another database's operator
// ran `alter role memory_app set session_replication_role = replica` (a bulk load there, say): every session the app role
// logs in gets it, so no trigger fires and no foreign key is checked for its writes here (a session for no user went in),
// and verify passed, since its checks become the role with set role, which takes none of its settings. Verify now reads the
// roles' own settings for this database.
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";
import { withClient } from "../support/database";

const cliDatabase = cliDatabases();

describe("session_replication_role = replica set on the app role, from another database", () => {
    it("fails verify naming the role and the statement that lifts it, for the role and for the role in this database", async () => {
        const { db, appRole, roleFlags, env } = await cliDatabase("a35_role_replica");
        const apply = await cli(["apply", ...roleFlags], env);
        expect(apply.code, apply.stderr).toBe(0);
        const elsewhere = (sql: string) => withClient({ ...db.config, database: "postgres" }, (admin) => admin.query(sql));

        await elsewhere(`alter role "${appRole}" set session_replication_role = replica`);
        const roleWide = await cli(["verify"], env);
        expect(roleWide.code).toBe(1);
        expect(roleWide.stdout + roleWide.stderr).toContain(
            `trigger triggers and foreign keys of ${appRole}: do not fire in its own sessions: session_replication_role = replica is set on the role`,
        );
        expect(roleWide.stdout + roleWide.stderr).toContain(`alter role "${appRole}" reset session_replication_role, then verify again`);

        // the setting for this database wins over the role's: origin here lifts it
        await elsewhere(`alter role "${appRole}" in database "${db.name}" set session_replication_role = origin`);
        expect((await cli(["verify"], env)).code).toBe(0);
        await elsewhere(`alter role "${appRole}" reset session_replication_role`);
        await elsewhere(`alter role "${appRole}" in database "${db.name}" set session_replication_role = local`);
        const here = await cli(["verify"], env);
        expect(here.code).toBe(1);
        expect(here.stdout + here.stderr).toContain(`alter role "${appRole}" in database "${db.name}" reset session_replication_role`);

        await elsewhere(`alter role "${appRole}" in database "${db.name}" reset session_replication_role`);
        const lifted = await cli(["verify"], env);
        expect(lifted.code, lifted.stdout + lifted.stderr).toBe(0);
    });
});
