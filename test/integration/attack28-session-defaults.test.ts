// BUG on 0b697ca: settings a database or the deploying role carries on every session. session_replication_role =
// replica (a bulk-load or replication setup): the apply went through with no trigger firing and no foreign key checked in
// its session, so 0014's backfill derived nothing (on a table with embeddings it stopped with "is it disabled?") and a
// switch to vector would keep no twin column; then verify blamed the schema ("someone changed it by hand").
// default_transaction_read_only: every apply failed with PostgreSQL's "cannot execute CREATE SCHEMA in a read-only
// transaction" alone. Both are refused by the preflight now, nothing changed, naming the setting and how to lift it.
import { describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { cliDatabases } from "../support/cli-database";

const cliDatabase = cliDatabases();

describe.each([
    { setting: "session_replication_role", value: "replica", lift: "origin" },
    { setting: "default_transaction_read_only", value: "on", lift: "off" },
])("a database that sets $setting = $value on every session", ({ setting, value, lift }) => {
    it("is refused before any change, naming the setting and how to lift it; lifted for the deploy, the apply goes through", async () => {
        const { db, client, roleFlags: names, env } = await cliDatabase("a28_session_defaults");
        await client.query(`alter database ${db.name} set ${setting} = ${value}`);

        const refused = await cli(["apply", ...names], env);

        expect(refused.code).toBe(1);
        expect(refused.stderr).toContain("nothing was changed");
        expect(refused.stderr).toContain(`- ${setting} = ${value}: the database or role`);
        expect(refused.stderr).toContain(`PGOPTIONS='-c ${setting}=${lift}'`);
        expect((await client.query("select to_regnamespace('memory_stack') is null as none")).rows[0].none).toBe(true);

        const lifted = await cli(["apply", ...names], { ...env, PGOPTIONS: `-c ${setting}=${lift}` });

        expect(lifted.code, lifted.stderr).toBe(0);
    });
});

describe("verify on a database that sets session_replication_role = replica on every session", () => {
    it("names the setting and skips the trigger and foreign key checks it breaks", async () => {
        const { db, client, adminRole: admin, roleFlags, env } = await cliDatabase("a28_verify_replica");
        const apply = await cli(["apply", ...roleFlags], env);
        expect(apply.code, apply.stderr).toBe(0);
        await client.query(
            `grant select, update on public.users to ${admin}; alter database ${db.name} set session_replication_role = replica`,
        );

        const verify = await cli(["verify"], env);

        expect(verify.code).toBe(1);
        expect(verify.stdout + verify.stderr).toContain(
            "trigger triggers and foreign keys: do not fire: session_replication_role is replica in this session",
        );
        expect(verify.stdout + verify.stderr).not.toContain("check failed: trigger");
        expect(verify.stdout + verify.stderr).not.toContain("check failed: foreign key");
    });
});
