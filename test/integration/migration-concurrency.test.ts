// Two applies at once on one database serialize on the advisory lock: each migration runs once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "pg";
import { applyMigrations, MigrationLockTimeoutError, readLedger, MIGRATION_LOCK_KEY } from "../../engine/migrate/index";
import { freshDatabase, type TestDatabase } from "../support/database";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

let db: TestDatabase;

beforeAll(async () => {
    db = await freshDatabase("migration_concurrency");
});

afterAll(async () => {
    await db.drop();
});

async function waiting(observer: Client, applicationName: string, event: string): Promise<boolean | undefined> {
    const result = await observer.query(
        "select 1 from pg_stat_activity where datname = current_database() and application_name = $1 and wait_event_type = 'Lock' and wait_event = $2",
        [applicationName, event],
    );
    return result.rowCount! > 0 ? true : undefined;
}

describe("two applies started together", () => {
    it("apply each migration once, keep the ledger consistent, and both finish cleanly", async () => {
        const gate = await db.connect();
        const observer = await db.connect();
        await gate.query("create table gate (id int)");
        // The first migration waits on a table the test holds, so the first apply is mid-flight, lock held,
        // while the second one starts.
        const migrations = [
            migration("0001_wait.sql", "lock table gate in access exclusive mode;\ncreate table first (id int);\n"),
            migration("0002_second.sql", "create table second (id int);\n"),
            migration("0003_counter.sql", "create table applied_count (n int);\ninsert into applied_count values (1);\n"),
        ];
        await gate.query("begin");
        await gate.query("lock table gate in access exclusive mode");
        const a = await db.connect({ application_name: "apply-a" });
        const b = await db.connect({ application_name: "apply-b" });
        const first = applyMigrations(a, migrations, { variant: "jsonb" });
        await until("apply-a to block inside 0001_wait.sql", () => waiting(observer, "apply-a", "relation"));
        const lines: string[] = [];
        const second = applyMigrations(b, migrations, { variant: "jsonb", onWait: (line) => lines.push(line) });
        await until(
            "apply-b to say it waits for the migration lock",
            () => lines.some((line) => line.startsWith("waiting for the migration lock")) || undefined,
        );
        expect(lines[0]).toMatch(
            /^waiting for the migration lock \(.* so far, giving up after 300 s\): another session holds it \(pid \d+ apply-a, connected .* ago\)$/,
        );
        await gate.query("commit");

        const [resultA, resultB] = await Promise.all([first, second]);

        expect(resultA.applied.map((item) => item.name)).toEqual(["0001_wait.sql", "0002_second.sql", "0003_counter.sql"]);
        expect(resultB.applied).toEqual([]);
        expect(resultB.appliedMigrations).toEqual(resultA.appliedMigrations);
        // B's wait for the migration lock is counted, and in the time it reports.
        expect(resultA.waits.migrationLockMs).toBe(0);
        expect(resultB.waits.migrationLockMs).toBeGreaterThan(0);
        expect(resultB.durationMs).toBeGreaterThanOrEqual(resultB.waits.migrationLockMs);
        expect((await readLedger(observer)).map((row) => row.name)).toEqual(["0001_wait.sql", "0002_second.sql", "0003_counter.sql"]);
        expect((await observer.query("select count(*)::int as n from applied_count")).rows[0].n).toBe(1);
        const locks = await observer.query(
            "select count(*)::int as n from pg_locks l join pg_database d on d.oid = l.database where l.locktype = 'advisory' and d.datname = current_database()",
        );
        expect(locks.rows[0].n).toBe(0);
    });

    it("gives up after the lock timeout, naming the session that holds the lock", async () => {
        const holder = await db.connect({ application_name: "stuck-apply" });
        const waiter = await db.connect();
        await holder.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
        try {
            const error = await applyMigrations(waiter, [migration("0009_never.sql", "create table never (id int);")], {
                variant: "jsonb",
                locks: { deadlineSeconds: 0.2 },
            }).catch((e: unknown) => e);
            expect(error).toBeInstanceOf(MigrationLockTimeoutError);
            expect((error as Error).message).toContain("stuck-apply");
            expect((await waiter.query("select to_regclass('never') as t")).rows[0].t).toBeNull();
            expect((await waiter.query("show lock_timeout")).rows[0].lock_timeout).toBe("0");
        } finally {
            await holder.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
        }
    });
});
