// `memory-stack verify` on a database an older release migrated: its ledger ends before this release's last
// migration, as after `npm update memory-stack` and before `memory-stack apply`. verify exits 1 (the newer
// objects are missing), and its "What to do" said the database "no longer matches the migrations recorded
// (someone changed it by hand, or an apply was interrupted outside the engine)" and to "recreate what is listed
// from its file in sql/". Run by hand, that file's objects are not recorded as the stack's: the next apply
// refuses them as the application's, and a rollback leaves them behind. What was missing was `apply`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import { applyMigrations } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let last: string;

beforeAll(async () => {
    db = await freshDatabase("attack11_verify_behind");
    env = { DATABASE_URL: db.url };
    const options = { ...DEFAULT_SCHEMA_OPTIONS, appRole: `${db.name}_app`, adminRole: `${db.name}_admin` };
    const migrations = renderMigrations(loadMigrationSources(), options);
    last = migrations.at(-1)!.name;
    const client = await db.connect();
    // What the release before this one applied: every migration but the newest, granted as apply grants.
    await applyMigrations(client, migrations.slice(0, -1), { variant: "jsonb", schema: options, grantRoles: true });
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`]);
});

describe("verify on a database one migration behind this release", () => {
    it("is behind by the status's account", async () => {
        const status = await cli(["status", "--json"], env);
        expect(status.code).toBe(1);
        expect(JSON.parse(status.stdout)).toMatchObject({ upToDate: false, pending: [last], drift: [] });
    });

    it("fails, and says to apply the pending migration rather than to recreate objects by hand", async () => {
        const verify = await cli(["verify"], env);
        expect(verify.code).toBe(1);
        expect(verify.stdout).toContain(last);
        expect(verify.stdout).toMatch(/memory-stack apply/);
        expect(verify.stdout).not.toContain("someone changed it by hand");
        expect(verify.stdout).not.toContain("Recreate what is listed");
    });
});
