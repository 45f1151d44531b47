// Bounded locks: with an application transaction holding a lock on sessions, a rollback and an apply
// that alters a memory table each wait at most their deadline, print a line per wait naming the
// blocking pid, its application_name and how long its transaction has been open, and fail cleanly
// with nothing changed; meanwhile another application session's selects on memory_logs and sessions
// never wait much longer than the lock_timeout. When the application's transaction ends in time, the
// retry goes through.
import { performance } from "node:perf_hooks";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, LockDeadlineError, MIGRATION_LOCK_KEY, readLedger } from "../../engine/migrate/index";
import { describeVariant } from "../../engine/migrate/plan";
import { loadMigrationSources, renderMigrations, type SchemaOptions } from "../../engine/migrate/render";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";
import { databaseFingerprint } from "../support/database-fingerprint";
import { probeApplication as probeSelects } from "../support/application-probe";
import { migration } from "../support/migrations";
import { until } from "../support/poll";

const LOCK_TIMEOUT_MS = 200;
/** What "never waits longer than the lock_timeout" allows on top, on a loaded 2-core machine (a broken bound shows the 3 s deadline). */
const MARGIN_MS = 400;

let db: TestDatabase;
let options: SchemaOptions;
let env: NodeJS.ProcessEnv;
let holder: Client;
let reader: Client;

beforeAll(async () => {
    db = await freshDatabase("bounded_locks");
    options = {
        vector: false,
        vectorDimensions: 3,
        vectorIndex: "hnsw",
        rls: true,
        appRole: `${db.name}_app`,
        adminRole: `${db.name}_admin`,
    };
    env = { DATABASE_URL: db.url };
    const apply = await cli(["apply", "--app-role", options.appRole, "--admin-role", options.adminRole], env);
    expect(apply.code, apply.stderr).toBe(0);
    holder = await db.connect({ application_name: "billing-worker" });
    reader = await db.connect();
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [options.appRole, options.adminRole]);
});

/** The application's open transaction: it read sessions, so it holds a lock there until it ends. */
async function holdSessions(): Promise<void> {
    await holder.query("begin");
    await holder.query("select count(*) from sessions");
}

/** Another application session, selecting from memory_logs and sessions back to back. */
const probeApplication = () => probeSelects({ ...db.config, application_name: "agent-api" }, ["memory_logs", "sessions"]);

const WAITING_LINE = new RegExp(
    String.raw`^waiting for a lock: (the rollback|0099_alter_sessions\.sql) was blocked on public\.sessions by pid \d+ \(billing-worker, idle in transaction, holding it in a transaction open for [\d.]+ s\); ` +
        String.raw`rolled back after lock_timeout ${LOCK_TIMEOUT_MS} ms, retry \d+ in [\d.]+ s \(giving up after 3 s\)$`,
);

const WAITING_LINE_0100 = new RegExp(
    WAITING_LINE.source.replace("0099_alter_sessions", "0(?:099|100)_alter_sessions").replace("after 3 s", "after 60 s"),
);

describe("an application transaction holding a lock on sessions", () => {
    it("makes rollback wait at most its deadline, saying who blocks it, then fail cleanly; the application's selects wait at most lock_timeout", async () => {
        await holdSessions();
        const before = await databaseFingerprint(reader, [options.appRole, options.adminRole]);
        const probe = await probeApplication();
        const started = performance.now();

        const rollback = await cli(
            ["rollback", "--allow-data-loss", "--lock-timeout", String(LOCK_TIMEOUT_MS), "--lock-deadline", "3"],
            env,
        );

        const elapsed = performance.now() - started;
        const longestWait = await probe.stop();
        await holder.query("rollback");
        console.log(
            `rollback blocked for ${Math.round(elapsed)} ms; longest application select: ${Math.round(longestWait)} ms (lock_timeout ${LOCK_TIMEOUT_MS} ms)`,
        );
        expect(rollback.code).toBe(1);
        const waits = rollback.stderr.split("\n").filter((line) => line.startsWith("waiting for a lock"));
        expect(waits.length).toBeGreaterThan(1);
        for (const line of waits) expect(line).toMatch(WAITING_LINE);
        expect(rollback.stderr).toMatch(
            /gave up waiting for locks after [\d.]+ s \(\d+ attempts, each waiting at most lock_timeout\): the rollback was blocked on public\.sessions by pid \d+ \(billing-worker, .*\)\. Nothing was dropped\. End that transaction/,
        );
        const holderPid = (await holder.query("select pg_backend_pid() as pid")).rows[0].pid;
        expect(rollback.stderr).toContain(
            `End that transaction (select pg_terminate_backend(${holderPid})) or let it finish, then run again`,
        );
        expect(elapsed).toBeLessThan(3_000 + 5_000);
        expect(longestWait).toBeLessThan(LOCK_TIMEOUT_MS + MARGIN_MS);
        expect(await databaseFingerprint(reader, [options.appRole, options.adminRole])).toEqual(before);
    });

    it("makes an apply that alters a memory table wait at most its deadline and fail cleanly, the ledger without it", async () => {
        const migrations = [
            ...renderMigrations(loadMigrationSources(), options),
            migration("0099_alter_sessions.sql", "alter table public.sessions add column note text;\n"),
        ];
        await holdSessions();
        const lines: string[] = [];
        const probe = await probeApplication();

        const error = await applyMigrations(await db.connect(), migrations, {
            variant: describeVariant(options),
            schema: options,
            locks: { timeoutMs: LOCK_TIMEOUT_MS, deadlineSeconds: 3 },
            onWait: (line) => lines.push(line),
            connect: () => db.connect(),
        }).catch((e: unknown) => e);

        const longestWait = await probe.stop();
        await holder.query("rollback");
        console.log(`apply: longest application select ${Math.round(longestWait)} ms (lock_timeout ${LOCK_TIMEOUT_MS} ms)`);
        expect(error).toBeInstanceOf(LockDeadlineError);
        expect((error as Error).message).toContain("0099_alter_sessions.sql was blocked on public.sessions by pid");
        expect((error as Error).message).toContain("Nothing of 0099_alter_sessions.sql was applied.");
        expect(lines.length).toBeGreaterThan(1);
        for (const line of lines) expect(line).toMatch(WAITING_LINE);
        expect(longestWait).toBeLessThan(LOCK_TIMEOUT_MS + MARGIN_MS);
        expect((await readLedger(reader)).map((row) => row.name)).not.toContain("0099_alter_sessions.sql");
        expect(
            (await reader.query("select count(*)::int as n from pg_attribute where attrelid = 'sessions'::regclass and attname = 'note'"))
                .rows[0].n,
        ).toBe(0);
    });

    it("lets the apply through on a retry once the application's transaction ends", async () => {
        const migrations = [
            ...renderMigrations(loadMigrationSources(), options),
            migration("0099_alter_sessions.sql", "alter table public.sessions add column note text;\n"),
        ];
        await holdSessions();
        const lines: string[] = [];

        const applying = applyMigrations(await db.connect(), migrations, {
            variant: describeVariant(options),
            schema: options,
            locks: { timeoutMs: LOCK_TIMEOUT_MS, deadlineSeconds: 60 },
            onWait: (line) => lines.push(line),
            connect: () => db.connect(),
        });
        await until("the apply to report its first wait", () => (lines.length > 0 ? true : undefined));
        await holder.query("commit");

        const result = await applying;
        expect(result.applied.map((item) => item.name)).toEqual(["0099_alter_sessions.sql"]);
        // The time reported includes the waits: at least one lock_timeout per retry.
        expect(result.waits.retries).toBeGreaterThanOrEqual(lines.length);
        expect(result.durationMs).toBeGreaterThanOrEqual(lines.length * LOCK_TIMEOUT_MS);
        expect(result.applied[0].durationMs).toBeGreaterThanOrEqual(lines.length * LOCK_TIMEOUT_MS);
        expect(lines[0]).toMatch(
            /^waiting for a lock: 0099_alter_sessions\.sql was blocked on public\.sessions by pid \d+ \(billing-worker/,
        );
    });
    it("names the blocker in every line even when the second session connects slower than a lock_timeout: an attempt it could not watch says nothing", async () => {
        const migrations = [
            ...renderMigrations(loadMigrationSources(), options),
            migration("0099_alter_sessions.sql", "alter table public.sessions add column note text;\n"),
            migration("0100_alter_sessions.sql", "alter table public.sessions add column note2 text;\n"),
        ];
        await holdSessions();
        const lines: string[] = [];
        // A loaded server: the second session takes longer to open than the first attempt waits.
        const slowConnect = async () => {
            await new Promise((resolve) => setTimeout(resolve, 3 * LOCK_TIMEOUT_MS));
            return db.connect();
        };

        const applying = applyMigrations(await db.connect(), migrations, {
            variant: describeVariant(options),
            schema: options,
            locks: { timeoutMs: LOCK_TIMEOUT_MS, deadlineSeconds: 60 },
            onWait: (line) => lines.push(line),
            connect: slowConnect,
        });
        await until("the apply to report two waits", () => (lines.length >= 2 ? true : undefined));
        await holder.query("commit");
        const result = await applying;

        expect(result.applied.map((item) => item.name)).toContain("0100_alter_sessions.sql");
        for (const line of lines) expect(line).toMatch(WAITING_LINE_0100);
        // The attempts it could not watch are retried all the same, without a line.
        expect(result.waits.retries).toBeGreaterThan(lines.length);
    });
});

describe("a migration lock held by another run", () => {
    it("is waited for with a line naming the holder, up to the deadline, then apply fails cleanly", async () => {
        const stuck = await db.connect({ application_name: "stuck-deploy" });
        await stuck.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
        try {
            const apply = await cli(["apply", "--lock-deadline", "1"], env);

            expect(apply.code).toBe(1);
            expect(apply.stderr).toMatch(
                /^waiting for the migration lock \([\d.]+ s so far, giving up after 1 s\): another session holds it \(pid \d+ stuck-deploy, connected [\d.]+ s ago\)$/m,
            );
            expect(apply.stderr).toMatch(/waited [\d.]+ s for the migration lock; another session holds it \(pid \d+ stuck-deploy/);
            const stuckPid = (await stuck.query("select pg_backend_pid() as pid")).rows[0].pid;
            expect(apply.stderr).toContain(`or end it (select pg_terminate_backend(${stuckPid})) if it is stuck`);
        } finally {
            await stuck.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
        }
    });
});
