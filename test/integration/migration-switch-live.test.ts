// The embedding switch on a live stack, on PostgreSQL 15. pgvector is not available here, so the
// switch is the stand-in (test/fixtures/stand-in: the same steps as 0015/0016, converting to real[]);
// the vector-specific steps are proven on PGlite (migration-vector-switch.test.ts).
//
// Application clients (the app role, their user's id set per transaction) read and write goals and
// beliefs the whole time. An application transaction is also held open across the expand and the
// contract, so the migration's DDL must time out and retry while the clients keep going. The server
// logs every lock wait longer than 10 ms with the waiter's application_name (log_lock_waits,
// deadlock_timeout 10ms): the longest wait of any application statement is read from there.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMigrations, readLedger } from "../../engine/migrate/index";
import { readStepLedger } from "../../engine/migrate/step-ledger";
import { DEFAULT_LOCK_SETTINGS } from "../../engine/migrate/session";
import type { StepEvent } from "../../engine/migrate/step-runner";
import { expectationsFor, verifySchema } from "../../engine/verify/index";
import { grantStackPrivileges } from "../support/schema-db";
import { startAppLoad, type AppLoadReport } from "../support/app-load";
import { DEFAULT_OPTIONS } from "../support/apply-sql";
import { dropRoles } from "../support/database";
import { startEmbeddedPostgres, type RunningServer } from "../support/embedded-server";
import { until } from "../support/poll";
import { seedEmbeddings, snapshot, standInProgram, standInVerdict, type RowSnapshot, type SeededUser } from "../support/switch-data";

const DIMENSIONS = 16;
const options = { ...DEFAULT_OPTIONS, vectorDimensions: DIMENSIONS };
const { base, program } = standInProgram(options);
const APP_PASSWORD = "app-load-password";

let server: RunningServer;
let owner: Client;
let users: SeededUser[];
let before: { goals: RowSnapshot[]; beliefs: RowSnapshot[] };
let load: AppLoadReport;
const events: StepEvent[] = [];
/** The lock-wait lines the engine reported (bounded.ts): "waiting for a lock: <file> step <name> was blocked …". */
const waitLines: string[] = [];
let switchMs = 0;
let logBefore = 0;

/** Lock waits of application clients the server logged ("process N acquired … after X ms"), in ms. */
function applicationLockWaits(log: string): number[] {
    return [...log.matchAll(/\] app-[\w-]+: LOG:\s+process \d+ acquired .* after ([\d.]+) ms/g)].map((match) => Number(match[1]));
}

/** An application transaction holding `table` (ACCESS SHARE) until `release` resolves. */
async function hold(table: string, user: string, release: () => Promise<unknown>): Promise<void> {
    const client = new Client({
        host: server.host,
        port: server.port,
        database: "switch_live",
        user: options.appRole,
        password: APP_PASSWORD,
        application_name: "app-holder",
    });
    await client.connect();
    try {
        await client.query("begin");
        await client.query("select memory_stack.bind_user($1)", [user]);
        await client.query(`select count(*) from ${table}`);
        await release();
        await client.query("commit");
    } finally {
        await client.end();
    }
}

beforeAll(async () => {
    server = await startEmbeddedPostgres({
        flags: ["-c", "log_lock_waits=on", "-c", "deadlock_timeout=10ms", "-c", "log_line_prefix=%m [%p] %a: "],
    });
    const admin = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" });
    await admin.connect();
    await admin.query("create database switch_live");
    await admin.end();
    owner = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "switch_live" });
    await owner.connect();
    await applyMigrations(owner, base, { variant: "jsonb" });
    await grantStackPrivileges(owner, options); // as the stack grants them: the application runs with exactly these
    await owner.query(`alter role "${options.appRole}" login password '${APP_PASSWORD}'`);
    users = await seedEmbeddings(owner, { users: 4, goalsPerUser: 1000, beliefsPerUser: 500, dimensions: DIMENSIONS });
    before = await snapshot(owner);

    const app = await startAppLoad({
        config: { host: server.host, port: server.port, database: "switch_live", user: options.appRole, password: APP_PASSWORD },
        users,
        dimensions: DIMENSIONS,
    });
    try {
        await app.ran(5);
        logBefore = server.log().length;
        const seen = (step: string) => () => (waitLines.some((line) => line.includes(` step ${step} `)) ? true : undefined);
        const started = Date.now();
        // The expand and the contract each meet an application transaction that outlasts lock_timeout.
        const switching = applyMigrations(owner, program, {
            variant: "jsonb",
            steps: { onEvent: (event) => events.push(event) },
            onWait: (line) => waitLines.push(line),
        });
        await hold("goal_assessments", users[0].id, () => until("the expand to wait for a lock", seen("expand"), 60_000));
        await until(
            "the expand to finish",
            () => (events.some((e) => e.type === "step" && e.step === "expand") ? true : undefined),
            60_000,
        );
        // Idle in a read committed transaction it holds no snapshot, so the concurrent index builds do not wait for it.
        await hold("belief_graphs", users[1].id, () => until("contract_beliefs to wait for a lock", seen("contract_beliefs"), 120_000));
        await switching;
        switchMs = Date.now() - started;
        await app.ran(app.progress() + 5);
    } finally {
        load = await app.stop();
    }
}, 300_000);

afterAll(async () => {
    await owner?.end();
    await server?.stop();
    if (server) await dropRoles(server, [options.appRole, options.adminRole]).catch(() => undefined);
});

describe("the switch while the application keeps working (PostgreSQL 15, stand-in type real[])", () => {
    it("gives the application no error and no lock wait longer than the lock_timeout", () => {
        const waits = applicationLockWaits(server.log().slice(logBefore));
        const longest = Math.max(0, ...waits);
        console.info(
            `switch under load: ${switchMs} ms, ${load.transactions} application transactions (${load.statements} statements), ` +
                `${load.errors.length} errors, ${waits.length} application lock waits over 10 ms, longest ${longest.toFixed(1)} ms ` +
                `(lock_timeout ${DEFAULT_LOCK_SETTINGS.timeoutMs} ms), slowest statement ${load.maxLatencyMs.toFixed(1)} ms, ` +
                `${waitLines.length} lock timeouts retried`,
        );
        expect(load.errors).toEqual([]);
        expect(load.transactions).toBeGreaterThan(20);
        // Waiters queued behind the migration's lock request are released when its lock_timeout fires
        // (or it gets the lock and holds it for its few catalog changes): a few ms past lock_timeout.
        expect(longest).toBeLessThanOrEqual(DEFAULT_LOCK_SETTINGS.timeoutMs + 50);
        expect(waits.length).toBeGreaterThan(0); // the clients did queue behind the migration: the bound was tested
    });

    it("timed out and retried the expand and the contract while an application transaction held their tables", () => {
        for (const step of ["expand", "contract_beliefs"]) {
            expect(
                waitLines.some((line) => line.includes(` step ${step} `)),
                step,
            ).toBe(true);
        }
    });

    it("reported the backfill's progress as rows done of the total", () => {
        const goals = events.filter((e) => e.type === "rows" && e.step === "backfill_goals");
        expect(goals.length).toBeGreaterThan(1);
        const last = goals.at(-1) as { done: number; total: number };
        expect(last.done).toBeGreaterThanOrEqual(4000); // and the goals the application inserted meanwhile
        expect(last.total).toBe(last.done);
    });

    it("keeps every row and every embedding, with what the application wrote during the switch", async () => {
        const after = await snapshot(owner);
        for (const [kind, rowsBefore, rowsAfter] of [
            ["goal", before.goals, after.goals],
            ["belief", before.beliefs, after.beliefs],
        ] as const) {
            const now = new Map(rowsAfter.map((row) => [row.id, row]));
            for (const row of rowsBefore) {
                const found = now.get(row.id);
                expect(found, `${kind} ${row.id}`).toBeDefined();
                expect(found!.numbers, `${kind} ${row.id}`).toEqual(load.written.get(row.id) ?? row.numbers);
                if (!load.written.has(row.id)) expect(found!.other, `${kind} ${row.id}`).toBe(row.other); // updated_at included
            }
        }
        const goalsNow = new Map(after.goals.map((row) => [row.id, row]));
        expect(load.inserted.length).toBeGreaterThan(0);
        for (const id of load.inserted) expect(goalsNow.get(id)?.numbers).toEqual(load.written.get(id));
        expect(after.goals).toHaveLength(before.goals.length + load.inserted.length);
        expect(after.beliefs).toHaveLength(before.beliefs.length);
    });

    it("ends as a finished migration: real[] columns, no twin, trigger, helper or step left, and verification passes", async () => {
        const { rows } = await owner.query(`select
            (select string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' order by attname) from pg_attribute
              where attrelid in ('goal_assessments'::regclass, 'belief_graphs'::regclass) and attname like '%vector%' and not attisdropped) as columns,
            (select count(*)::int from pg_trigger where tgname = 'vector_switch_sync') as triggers,
            (select count(*)::int from pg_proc where proname like 'vector_switch%') as helpers`);
        expect(rows[0]).toEqual({ columns: "belief_vector real[], goal_vector real[]", triggers: 0, helpers: 0 });
        expect(await readStepLedger(owner)).toEqual([]);
        expect((await readLedger(owner)).map((row) => row.name).filter((name) => name.includes("stand_in"))).toEqual([
            "0015_stand_in_expand.sql",
            "0016_stand_in_contract.sql",
        ]);
        const verdict = standInVerdict((await verifySchema(owner, await expectationsFor(options, program))).problems);
        expect(verdict.others).toEqual([]);
        expect(verdict.expected).toHaveLength(14); // 6 derived columns, 2 triggers, 2 bridge bodies, 2 embeddings of type real[] without their jsonb checks
    });
});
