// BUG on b2b6cb7: a backup restored into the database it came from (`pg_restore --clean --if-exists -d
// ybryx dump`, the usual restore after a bad deploy or a corrupted table) gives every object a new oid
// while the cluster's system identifier and the database's oid stay the same. The ownership records,
// restored with everything else, then say that each recorded name holds "another object than the one the
// stack created", so the stack disowns its whole schema: `verify` reports some hundred objects as "not the
// stack's: created again by someone else", and `rollback` (or `pulumi destroy`) exits 0 having dropped
// nothing, deletes every record and the ledger, and leaves all eight tables, views and functions behind.
// The next `apply` then refuses every one of them as the application's. What a user loses: the rollback
// (a destroy that says it worked and removed nothing) and every later deploy of the stack on that database,
// until they find and drop each memory object by hand. docs/migrations-safety.md promises name-based
// ownership after a restore "into another database"; a restore into the same one needs the same.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const databases: TestDatabase[] = [];
const roles: string[] = [];
const work = mkdtempSync(join(tmpdir(), "a12-restore-"));

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
    rmSync(work, { recursive: true, force: true });
});

const version = spawnSync("pg_dump", ["--version"], { encoding: "utf8" });
const usable = version.status === 0 && /\(PostgreSQL\) 1[5-9]/.test(version.stdout);
if (!usable) {
    console.warn(
        `skipped: needs pg_dump and pg_restore 15 or later on PATH (Debian: apt-get install postgresql-client-15); found: ${version.stdout || version.error}`,
    );
}

/** pg_dump the database, then pg_restore --clean --if-exists into the same database. */
function dumpAndRestoreInPlace(db: TestDatabase): void {
    const file = join(work, `${db.name}.dump`);
    const env = { ...process.env, PGPASSWORD: db.server.password };
    const connection = ["-h", db.server.host, "-p", String(db.server.port), "-U", db.server.user, "-d", db.name];
    const dump = spawnSync("pg_dump", [...connection, "-Fc", "-f", file], { env, encoding: "utf8" });
    expect(dump.status, dump.stderr).toBe(0);
    const restore = spawnSync("pg_restore", [...connection, "--clean", "--if-exists", file], { env, encoding: "utf8" });
    expect(restore.status, restore.stderr).toBe(0);
}

async function restoredInPlace(prefix: string): Promise<{ db: TestDatabase; env: NodeJS.ProcessEnv; flags: string[] }> {
    const db = await freshDatabase(prefix);
    databases.push(db);
    const flags = ["--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`];
    roles.push(`${db.name}_app`, `${db.name}_admin`);
    const env = { DATABASE_URL: db.url };
    const apply = await cli(["apply", ...flags], env);
    expect(apply.code, apply.stderr).toBe(0);
    dumpAndRestoreInPlace(db);
    return { db, env, flags };
}

describe.skipIf(!usable)("a database restored from its own dump, into itself", () => {
    it("still verifies as the stack's", async () => {
        const { env } = await restoredInPlace("a12_restore_verify");

        const verify = await cli(["verify"], env);

        expect(verify.code, verify.stdout.split("\n").slice(0, 3).join("\n")).toBe(0);
    });

    it("rolls back, dropping the memory schema, and deploys again", async () => {
        const { db, env, flags } = await restoredInPlace("a12_restore_rollback");

        const rollback = await cli(["rollback"], env);

        expect(rollback.code, rollback.stderr).toBe(0);
        const client = await db.connect();
        const left = await client.query<{ name: string }>(
            "select relname as name from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'v') order by 1",
        );
        expect(left.rows.map((row) => row.name)).toEqual([]);
        const again = await cli(["apply", ...flags], env);
        expect(again.code, again.stdout + again.stderr).toBe(0);
    });
});
