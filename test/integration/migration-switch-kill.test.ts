// Killing the switch at random points, on PostgreSQL 15 (the stand-in switch, test/fixtures/stand-in):
// the applying process (a child running the compiled engine, as the CLI does) gets SIGKILL at a random
// progress event plus a random 0–20 ms (so inside steps and batches too); the next apply completes,
// verification passes and no row or value is lost. After a kill, rollback removes everything instead.
// Then the other two ways an apply ends early: its connection cut, and the server crashing.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client, type ClientConfig } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, loadRollbackSql, readLedger, rollbackSchema } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { expectationsFor, verifySchema } from "../../engine/verify/index";
import { grantStackPrivileges } from "../support/schema-db";
import { prng } from "../../bench/support/embeddings";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { dropRoles, freshDatabase, sharedServer, withClient, type TestDatabase } from "../support/database";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { until } from "../support/poll";
import { seedEmbeddings, snapshot, standInProgram, standInVerdict, type RowSnapshot } from "../support/switch-data";

const KILLS = 20;
const KILLS_THEN_ROLLBACK = 5;
const SEED = 19;
const options = { ...DEFAULT_OPTIONS, vectorDimensions: 8 };
const { base, program } = standInProgram(options);
const CHILD = join(__dirname, "..", "support", "apply-child.js");

let template: TestDatabase;
let before: { goals: RowSnapshot[]; beliefs: RowSnapshot[] };
let eventsInFullRun = 0;
const copies: string[] = [];
const work = mkdtempSync(join(tmpdir(), "memory-stack-kill-"));

async function admin(server: { host: string; port: number; user: string; password: string }, sql: string): Promise<void> {
    await withClient({ ...server, database: "postgres" }, (client) => client.query(sql));
}

/** A copy of the template: the jsonb schema with its rows, before the switch. */
async function copy(label: string): Promise<ClientConfig> {
    const name = `${template.name}_${label}`;
    await admin(sharedServer(), `create database "${name}" template "${template.name}"`);
    copies.push(name);
    return { ...template.config, database: name };
}

/**
 * Runs the child until it has printed `at` events (or one `at` picks), then SIGKILL after `delayMs`
 * (and after `beforeKill`); the last event it printed.
 */
async function applyAndKill(
    config: ClientConfig,
    at: number | ((event: { type: string; step?: string }) => boolean),
    delayMs: number,
    beforeKill: () => Promise<unknown> = async () => undefined,
): Promise<{ killed: boolean; last: string }> {
    const file = join(work, `${config.database}.json`);
    const { host, port, user, password, database } = config;
    writeFileSync(file, JSON.stringify({ connection: { host, port, user, password, database }, migrations: program, variant: "jsonb" }));
    const child = spawn(process.execPath, [CHILD, file], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let seen = 0;
    let last = "(started)";
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    for await (const line of createInterface({ input: child.stdout })) {
        const event = JSON.parse(line) as { type: string; step?: string; done?: number };
        last = `${event.type}${event.step ? ` ${event.step}` : ""}${event.done ? ` ${event.done} rows` : ""}`;
        if (typeof at === "number" ? seen++ === at : at(event)) {
            await beforeKill();
            setTimeout(() => child.kill("SIGKILL"), delayMs);
            break;
        }
    }
    const code = await exited;
    if (code !== null && code !== 0) throw new Error(`the applying process failed before it was killed: ${stderr}`);
    return { killed: code === null, last };
}

/** Blocks (the event loop too: the crash is another process's work) until process `pid` has exited, at most 15 s. */
function untilGone(pid: number): void {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; Atomics.wait(pause, 0, 0, 5)) {
        try {
            process.kill(pid, 0);
        } catch {
            return;
        }
    }
    throw new Error(`PostgreSQL (pid ${pid}) was still running 15 s after the crash was asked for`);
}

async function expectFinishedAndWhole(client: Client): Promise<void> {
    expect(await readStepLedger(client)).toEqual([]);
    // The ledger reads in name order, where 0018 comes after the stand-in switch files.
    expect((await readLedger(client)).map((row) => row.name)).toEqual(program.map((migration) => migration.name).sort());
    await grantStackPrivileges(client, options);
    const verdict = standInVerdict((await verifySchema(client, await expectationsFor(options, program))).problems);
    expect(verdict.others).toEqual([]);
    expect(verdict.expected).toHaveLength(14); // 6 derived columns, 2 triggers, 2 bridge bodies, 2 embeddings of type real[] without their jsonb checks
    const after = await snapshot(client);
    expect(after.goals).toEqual(before.goals);
    expect(after.beliefs).toEqual(before.beliefs);
    const leftovers = await client.query(`select
        (select count(*)::int from pg_proc where proname like 'vector_switch%') as helpers,
        (select count(*)::int from pg_trigger where tgname = 'vector_switch_sync') as triggers,
        (select count(*)::int from pg_index where not indisvalid) as invalid_indexes,
        (select count(*)::int from pg_indexes where indexname in ('idx_goal_assessments_goal_vector', 'idx_belief_graphs_belief_vector')) as indexes`);
    expect(leftovers.rows[0]).toEqual({ helpers: 0, triggers: 0, invalid_indexes: 0, indexes: 2 });
}

beforeAll(async () => {
    template = await freshDatabase("switch_kill");
    const client = await template.connect();
    await applyMigrations(client, base, { variant: "jsonb" });
    await seedEmbeddings(client, { users: 3, goalsPerUser: 200, beliefsPerUser: 100, dimensions: options.vectorDimensions });
    before = await snapshot(client);
    await client.end();
    // One run to the end counts the events a kill can land after.
    await withClient(await copy("full"), async (full) => {
        await applyMigrations(full, program, { variant: "jsonb", steps: { onEvent: () => eventsInFullRun++ } });
        await expectFinishedAndWhole(full);
    });
}, 120_000);

afterAll(async () => {
    for (const name of copies) await admin(sharedServer(), `drop database if exists "${name}" with (force)`);
    await template?.drop();
    await dropRoles(sharedServer(), [options.appRole, options.adminRole]);
    rmSync(work, { recursive: true, force: true });
});

describe("killing the applying process at random points of the switch", () => {
    it(`resumes on the next apply every time (${KILLS} kills): it completes, verification passes, no row or value is lost`, async () => {
        const random = prng(SEED);
        const points: string[] = [];
        for (let run = 0; run < KILLS; run++) {
            const config = await copy(`k${run}`);
            // Event 0 is "connected": a kill before the migration lock, or inside the first step.
            const { killed, last } = await applyAndKill(config, Math.floor(random() * (eventsInFullRun + 1)), Math.floor(random() * 21));
            points.push(killed ? `after ${last}` : "(finished before the kill)");
            await withClient(config, async (client) => {
                await applyMigrations(client, program, { variant: "jsonb" });
                await expectFinishedAndWhole(client);
            });
        }
        console.info(`kill points (seed ${SEED}, ${eventsInFullRun} events in a full run):\n  ${points.join("\n  ")}`);
        expect(points.filter((point) => point.startsWith("after")).length).toBeGreaterThanOrEqual(KILLS - 3);
    }, 300_000);

    it(`can be rolled back instead (${KILLS_THEN_ROLLBACK} kills): nothing of the schema or the switch is left`, async () => {
        const random = prng(SEED + 1);
        for (let run = 0; run < KILLS_THEN_ROLLBACK; run++) {
            const config = await copy(`r${run}`);
            await applyAndKill(config, 2 + Math.floor(random() * (eventsInFullRun - 4)), Math.floor(random() * 21));
            await withClient(config, async (client) => {
                // The killed backend may still hold the migration lock for a moment; rollback waits for it.
                const result = await rollbackSchema(client, {
                    rollbackSql: loadRollbackSql(),
                    allowDataLoss: true,
                    defaults: { ...options, vector: true },
                });
                expect(result.rolledBack).toBe(true);
                const left = await client.query(`select
                    (select count(*)::int from pg_class where relnamespace = 'public'::regnamespace) as relations,
                    (select count(*)::int from pg_proc where pronamespace = 'public'::regnamespace) as functions,
                    (select array_agg(relname::text order by relname) from pg_class where relnamespace = 'memory_stack'::regnamespace and relkind = 'r') as ledger_tables,
                    (select count(*)::int from memory_stack.migrations) as ledger_rows`);
                expect(left.rows[0]).toEqual({
                    relations: 0,
                    functions: 0,
                    ledger_tables: ["created_objects", "migrations"],
                    ledger_rows: 0,
                });
                // The roles have grants in the other copies, so they are kept, and stay the stack's: their records stay.
                expect(result.kept).toEqual([`role ${options.appRole}`, `role ${options.adminRole}`]);
                const records = await client.query<{ identity: string }>(
                    "select identity from memory_stack.created_objects order by position",
                );
                expect(records.rows.map((row) => row.identity)).toEqual(result.kept);
            });
        }
    }, 120_000);
});

describe("an apply that loses its connection or its server mid-switch", () => {
    it("leaves an invalid index when killed in the middle of a concurrent build; the next apply drops it and builds it again", async () => {
        const config = await copy("cic");
        const holder = new Client(config);
        await holder.connect();
        // A repeatable read transaction keeps its snapshot: the concurrent build waits for it, half done.
        await holder.query("begin isolation level repeatable read; select count(*) from users");
        const building = (wait: string) =>
            `select count(*)::int as n from pg_stat_activity where application_name = 'memory-stack-apply-child' and datname = '${config.database}'${wait}`;
        const count = async (sql: string) => (await withClient(config, (c) => c.query(sql))).rows[0].n as number;

        const { killed } = await applyAndKill(
            config,
            (event) => event.type === "index memory" && event.step === "index_goals",
            0,
            () =>
                until("the index build to wait for the older transaction", async () =>
                    (await count(building(" and query ilike 'create index concurrently%' and wait_event_type = 'Lock'"))) === 1
                        ? true
                        : undefined,
                ),
        );
        expect(killed).toBe(true);
        // Its backend notices the closed connection within a second (client_connection_check_interval) and stops.
        await until("the killed apply's backend to end", async () => ((await count(building(""))) === 0 ? true : undefined), 15_000);
        await holder.query("commit");
        await holder.end();

        await withClient(config, async (client) => {
            const valid = await client.query(
                "select indisvalid from pg_index where indexrelid = 'idx_goal_assessments_goal_vector'::regclass",
            );
            expect(valid.rows).toEqual([{ indisvalid: false }]);
            const events: StepEvent[] = [];
            await applyMigrations(client, program, { variant: "jsonb", steps: { onEvent: (event) => events.push(event) } });
            expect(events.filter((event) => event.type === "invalid index dropped")).toMatchObject([{ step: "index_goals" }]);
            await expectFinishedAndWhole(client);
        });
    }, 60_000);

    it("resumes a backfill whose connection was cut from the cursor the ledger kept", async () => {
        const config = await copy("cut");
        const events: StepEvent[] = [];
        let cut = false;
        const migrating = new Client({ ...config, application_name: "memory-stack-cut" });
        migrating.on("error", () => undefined);
        await migrating.connect();
        const other = new Client(config);
        await other.connect();
        const failed = await applyMigrations(migrating, program, {
            variant: "jsonb",
            steps: {
                onEvent: (event) => {
                    events.push(event);
                    if (event.type === "rows" && event.step === "backfill_goals" && !cut) {
                        cut = true;
                        // Queued before the next batch: the migration waits here while its backend is terminated.
                        void migrating.query("select pg_sleep(5)").catch(() => undefined);
                        // Awaited by no one: a run that fails before its answer ends `other` under it.
                        void other
                            .query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'memory-stack-cut'")
                            .catch(() => undefined);
                    }
                },
            },
        }).catch((error: unknown) => error);
        await migrating.end().catch(() => undefined);
        await other.end();
        expect(failed).toBeInstanceOf(Error);

        await withClient(config, async (client) => {
            const steps = await readStepLedger(client);
            expect(steps.filter((row) => row.finished).map((row) => row.step)).toEqual(["precheck", "expand"]);
            const backfill = steps.find((row) => row.step === "backfill_goals");
            expect(backfill?.rowsDone).toBeGreaterThanOrEqual(100);
            expect(backfill?.cursor).toMatch(/^[0-9a-f-]{36}$/);
            const resumed: StepEvent[] = [];
            await applyMigrations(client, program, { variant: "jsonb", steps: { onEvent: (event) => resumed.push(event) } });
            // The first batch of the resumed backfill starts after the kept cursor: no row is counted twice.
            const rows = resumed.filter((event) => event.type === "rows" && event.step === "backfill_goals") as { done: number }[];
            expect(rows[0].done).toBe(backfill!.rowsDone + 100); // a resumed backfill starts again at 100 rows a batch
            expect(resumed.filter((event) => event.type === "step" && event.outcome === "done before").map((e) => e.step)).toEqual([
                "precheck",
                "expand",
            ]);
            await expectFinishedAndWhole(client);
        });
    }, 60_000);

    describe("on a server of its own", () => {
        let server: RunningServer;
        beforeAll(async () => {
            server = await startEmbeddedPostgres();
        }, 60_000);
        afterAll(async () => {
            await server?.stop();
        });

        it("resumes after the server crashed in the middle of the index build", async () => {
            const config: ClientConfig = {
                host: server.host,
                port: server.port,
                user: server.user,
                password: server.password,
                database: "postgres",
            };
            await withClient(config, async (client) => {
                await applyMigrations(client, base, { variant: "jsonb" });
                await seedEmbeddings(client, { users: 3, goalsPerUser: 200, beliefsPerUser: 100, dimensions: options.vectorDimensions });
            });
            const crashBefore = await withClient(config, snapshot);
            const migrating = new Client(config);
            migrating.on("error", () => undefined);
            await migrating.connect();
            let crashed: Promise<void> | undefined;
            const failed = await applyMigrations(migrating, program, {
                variant: "jsonb",
                steps: {
                    onEvent: (event) => {
                        if (event.type === "index memory" && event.step === "index_goals" && crashed === undefined) {
                            crashed = server.crash();
                            // The engine goes on once this returns: hold it here until the server is gone, so the
                            // crash lands in this step and not, on a slow machine, after the migration finished.
                            untilGone(server.pid());
                        }
                    },
                },
            }).catch((error: unknown) => error);
            expect(failed).toBeInstanceOf(Error);
            await crashed;
            await server.restart();
            await until("the restarted server to accept connections", () =>
                withClient(config, () => Promise.resolve(true)).catch(() => undefined),
            );
            await withClient(config, async (client) => {
                expect((await readStepLedger(client)).map((row) => row.step)).toEqual(
                    expect.arrayContaining(["precheck", "expand", "backfill_goals"]),
                );
                await applyMigrations(client, program, { variant: "jsonb" });
                expect(await readStepLedger(client)).toEqual([]);
                await grantStackPrivileges(client, options);
                const verdict = standInVerdict((await verifySchema(client, await expectationsFor(options, program))).problems);
                expect(verdict.others).toEqual([]);
                expect(verdict.expected).toHaveLength(14); // 6 derived columns, 2 triggers, 2 bridge bodies, 2 embeddings of type real[] without their jsonb checks
                const after = await snapshot(client);
                expect(after.goals).toEqual(crashBefore.goals);
                expect(after.beliefs).toEqual(crashBefore.beliefs);
            });
        }, 120_000);
    });
});
