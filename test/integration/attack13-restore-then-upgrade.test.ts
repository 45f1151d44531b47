// A database of an earlier release, restored from its own dump into itself (every oid renumbered, the origin the
// same: identity.ts RENUMBERED), then upgraded: a first pending migration that is a plain one reads the origin with
// its begin (ORIGIN_WITH_LEDGER_SQL); one that is stepped (0014) reads it on its own. Ownership must stay by identity through the upgrade: verify
// passes, and a rollback drops everything the stack created, the objects of the restored release and of the upgrade.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_SCHEMA_OPTIONS } from "../../engine/config/schema-options";
import { applyMigrations } from "../../engine/migrate/index";
import { loadMigrationSources, renderMigrations } from "../../engine/migrate/render";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

const version = spawnSync("pg_dump", ["--version"], { encoding: "utf8" });
const usable = version.status === 0 && /\(PostgreSQL\) 1[5-9]/.test(version.stdout);
if (!usable) {
    console.warn(`skipped: needs pg_dump and pg_restore 15 or later on PATH; found: ${version.stdout || version.error}`);
}

const work = mkdtempSync(join(tmpdir(), "a13-restore-"));
const databases: TestDatabase[] = [];
const roles: string[] = [];

/** A database with the migrations before `first` applied and goals written, then restored from its dump into itself. */
async function restoredBefore(first: string): Promise<{ db: TestDatabase; env: NodeJS.ProcessEnv }> {
    const db = await freshDatabase(`attack13_restore_${first}`);
    databases.push(db);
    roles.push(`${db.name}_app`, `${db.name}_admin`);
    const client = await db.connect();
    const options = { ...DEFAULT_SCHEMA_OPTIONS, appRole: `${db.name}_app`, adminRole: `${db.name}_admin` };
    const migrations = renderMigrations(loadMigrationSources(), options);
    const before = migrations.findIndex((migration) => migration.name.startsWith(`${first}_`));
    await applyMigrations(client, migrations.slice(0, before), { variant: "jsonb", schema: options, grantRoles: true });
    const vector = JSON.stringify(Array.from({ length: 1536 }, (_, i) => Math.cos(i + 1)));
    await client.query(`insert into users (id, email) values ('00000000-0000-4000-8000-000000000001', 'a@example.com');
        insert into goal_assessments (user_id, agent_name, goal_text, goal_vector)
        select '00000000-0000-4000-8000-000000000001', 'planner', 'goal ' || i, '${vector}'::jsonb from generate_series(1, 3) i`);
    const file = join(work, db.name);
    const pgEnv = { ...process.env, PGPASSWORD: db.server.password };
    const connection = ["-h", db.server.host, "-p", String(db.server.port), "-U", db.server.user, "-d", db.name];
    const dump = spawnSync("pg_dump", [...connection, "-Fc", "-f", file], { env: pgEnv, encoding: "utf8" });
    expect(dump.status, dump.stderr).toBe(0);
    const restore = spawnSync("pg_restore", [...connection, "--clean", "--if-exists", file], { env: pgEnv, encoding: "utf8" });
    expect(restore.status, restore.stderr).toBe(0);
    return { db, env: { DATABASE_URL: db.url } };
}

afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    await dropRoles(sharedServer(), roles);
    rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!usable)("a database restored into itself, then upgraded", () => {
    it.each(["0013", "0014"])("from before %s: applies the pending migrations, verifies, and rolls back whole", async (first) => {
        const { db, env } = await restoredBefore(first);
        const apply = await cli(["apply"], env);
        expect(apply.code, apply.stdout + apply.stderr).toBe(0);
        expect(apply.stdout + apply.stderr).toContain("0014_");

        const verify = await cli(["verify"], env);
        expect(verify.code, verify.stdout.split("\n").slice(0, 5).join("\n")).toBe(0);

        const rollback = await cli(["rollback", "--allow-data-loss"], env);
        expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
        const client = await db.connect();
        const left = await client.query<{ name: string }>(
            `select relname as name from pg_class where relnamespace in ('public'::regnamespace, coalesce(to_regnamespace('memory_stack'), 0))
               and relkind in ('r', 'v', 'm', 'p') order by 1`,
        );
        expect(left.rows.map((row) => row.name)).toEqual([]);
    });
});
