// Figure 7: switching a live stack's 10,000 goals of 1536 dimensions from jsonb to vector — the switch
// in steps (0015_vector_expand + 0016_vector_contract) against the in-place conversion it replaces
// (the retired 0010_vector), on the same rows:
//   - on PostgreSQL 15 with application clients reading and writing throughout (the app role, RLS
//     claim per transaction): total time, the slowest application statement, the longest application
//     lock wait (logged by the server: log_lock_waits, deadlock_timeout 10ms) and errors. PostgreSQL
//     15 here has no pgvector, so both convert to the stand-in real[] (test/fixtures/stand-in: the
//     same steps) and index it with gin;
//   - on PGlite + pgvector, one session and no clients: the total time of the real files.
import type { Client } from "pg";
import type { ConnectionSettings } from "../engine/db/url";
import { applyMigrations } from "../engine/migrate/index";
import { recordMigration } from "../engine/migrate/ledger";
import type { Migration } from "../engine/migrate/render";
import { DEFAULT_LOCK_SETTINGS } from "../engine/migrate/session";
import type { StepEvent } from "../engine/migrate/step-runner";
import { startAppLoad, type AppLoadReport } from "../test/support/app-load";
import { startEmbeddedPostgres, type RunningServer } from "../test/support/embedded-server";
import { startPgliteServer } from "../test/support/pglite-server";
import { seedEmbeddings, standInProgram, type SeededUser } from "../test/support/switch-data";
import { inPlaceStandIn } from "./support/in-place";
import { ratio, timed, type BenchContext, type PartResult, type Row } from "./support/measure";
import { connect } from "./support/postgres";
import { rendered, schemaOptions } from "./support/schema";

const SIZES = {
    full: { users: 10, goalsPerUser: 1000, beliefsPerUser: 100, dimensions: 1536, clients: 4 },
    quick: { users: 4, goalsPerUser: 250, beliefsPerUser: 25, dimensions: 64, clients: 4 },
};
const APP_PASSWORD = "bench-app-password";

interface LiveRun {
    ms: number;
    load: AppLoadReport;
    /** Application lock waits over 10 ms, as the server logged them. */
    lockWaits: number[];
    /** The three longest, as the server logged them (which lock). */
    longestWaits: string[];
    /** Milliseconds per step (the switch in steps only). */
    steps: Record<string, number>;
}

export async function benchSwitch(ctx: BenchContext): Promise<PartResult> {
    const size = ctx.quick ? SIZES.quick : SIZES.full;
    const goals = size.users * size.goalsPerUser;
    ctx.progress("switch: starting a PostgreSQL 15 of its own (log_lock_waits on, deadlock_timeout 10ms)");
    const server = await startEmbeddedPostgres({
        flags: ["-c", "log_lock_waits=on", "-c", "deadlock_timeout=10ms", "-c", "log_line_prefix=%m [%p] %a: "],
    });
    let live: { steps: LiveRun; inPlace: LiveRun };
    try {
        live = await onPostgres(ctx, server, size);
    } finally {
        await server.stop();
    }
    const pglite = { steps: await onPglite(ctx, size, "steps"), inPlace: await onPglite(ctx, size, "in place") };

    const label = `${goals.toLocaleString("en-US")} goals × ${size.dimensions} dims`;
    const longestWait = (run: LiveRun) => Math.max(0, ...run.lockWaits);
    const rows: Row[] = [
        {
            part: "switch",
            figure: `jsonb → vector switch, ${label}, total (PGlite + pgvector)`,
            value: pglite.steps,
            unit: "ms",
            baseline: { label: "in place, 0010_vector", value: pglite.inPlace },
            ratio: ratio(pglite.steps, pglite.inPlace),
            repetitions: 1,
            note: "one session, no application load; PGlite is PostgreSQL 18 in wasm",
        },
        {
            part: "switch",
            figure: `the same switch under application load, total (PostgreSQL 15, stand-in real[])`,
            value: live.steps.ms,
            unit: "ms",
            baseline: { label: "in place", value: live.inPlace.ms },
            ratio: ratio(live.steps.ms, live.inPlace.ms),
            repetitions: 1,
            note: `${size.clients} application clients reading and writing goals and beliefs throughout; ${live.steps.load.transactions} / ${live.inPlace.load.transactions} of their transactions done meanwhile`,
        },
        {
            part: "switch",
            figure: "longest application lock wait during the switch (PostgreSQL 15)",
            value: longestWait(live.steps),
            unit: "ms",
            baseline: { label: "in place", value: longestWait(live.inPlace) },
            ratio: ratio(longestWait(live.steps), longestWait(live.inPlace)),
            repetitions: 1,
            note: `lock_timeout ${DEFAULT_LOCK_SETTINGS.timeoutMs} ms; from the server log (waits over 10 ms)`,
        },
        {
            part: "switch",
            figure: "slowest application statement during the switch (PostgreSQL 15)",
            value: live.steps.load.maxLatencyMs,
            unit: "ms",
            baseline: { label: "in place", value: live.inPlace.load.maxLatencyMs },
            ratio: ratio(live.steps.load.maxLatencyMs, live.inPlace.load.maxLatencyMs),
            repetitions: 1,
            note: "client side: lock wait plus execution on 2 shared cores",
        },
        {
            part: "switch",
            figure: "application errors during the switch (PostgreSQL 15)",
            value: live.steps.load.errors.length,
            unit: "errors",
            baseline: { label: "in place", value: live.inPlace.load.errors.length },
            ratio: null,
            repetitions: 1,
            note: "must be 0",
        },
    ];
    const summary = (run: LiveRun) => ({
        ms: run.ms,
        longestLockWaitMs: longestWait(run),
        lockWaitsOver10Ms: run.lockWaits.length,
        longestWaits: run.longestWaits,
        stepsMs: run.steps,
        slowestStatementMs: run.load.maxLatencyMs,
        transactions: run.load.transactions,
        statements: run.load.statements,
        errors: run.load.errors,
    });
    return {
        rows,
        figures: {
            ...size,
            goals,
            lockTimeoutMs: DEFAULT_LOCK_SETTINGS.timeoutMs,
            postgres15: { steps: summary(live.steps), inPlace: summary(live.inPlace) },
            pglite: { stepsMs: pglite.steps, inPlaceMs: pglite.inPlace },
        },
    };
}

async function onPostgres(
    ctx: BenchContext,
    server: RunningServer,
    size: (typeof SIZES)["full"],
): Promise<{ steps: LiveRun; inPlace: LiveRun }> {
    const options = schemaOptions({ vectorDimensions: size.dimensions });
    const { base, program } = standInProgram(options);
    const inPlace = await inPlaceStandIn(
        rendered({ ...options, vector: true }).migrations.find((m) => m.name === "0010_vector.sql")!,
        program.find((m) => m.name === "0016_stand_in_contract.sql")!,
    );
    const admin = (database: string): ConnectionSettings => ({
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database,
    });
    ctx.progress(`switch: seeding ${size.users * size.goalsPerUser} goals of ${size.dimensions} dimensions (jsonb) on PostgreSQL 15`);
    const template = await connect(admin("postgres"));
    let users: SeededUser[];
    try {
        await template.query("create database switch_template");
        const seeding = await connect(admin("switch_template"));
        try {
            await applyMigrations(seeding, base, { variant: "jsonb" });
            await seeding.query(`alter role "${options.appRole}" login password '${APP_PASSWORD}'`);
            await seeding.query(
                `grant usage on schema public to "${options.appRole}"; grant select, insert, update, delete on all tables in schema public to "${options.appRole}"`,
            );
            users = await seedEmbeddings(seeding, size);
            await seeding.query("vacuum analyze");
        } finally {
            await seeding.end();
        }
        await template.query("create database switch_steps template switch_template");
        await template.query("create database switch_in_place template switch_template");
    } finally {
        await template.end();
    }
    const run = async (database: string, label: string, migrations: Migration[]): Promise<LiveRun> => {
        ctx.progress(`switch: ${label} on PostgreSQL 15 while ${size.clients} application clients read and write`);
        const owner = await connect(admin(database));
        const app = await startAppLoad({
            config: { ...admin(database), user: options.appRole, password: APP_PASSWORD },
            users: users.slice(0, size.clients),
            dimensions: size.dimensions,
            // match_goals is an exact scan of every goal in the jsonb variant (seconds at this size): reads and writes only.
            search: false,
        });
        const steps: Record<string, number> = {};
        const onEvent = (event: StepEvent) => {
            if (event.type === "step") steps[`${event.migration.slice(0, 4)} ${event.step}`] = Math.round(event.durationMs);
        };
        const { ms, logFrom } = await (async () => {
            try {
                await app.ran(3);
                const from = server.log().length;
                return {
                    ms: (await timed(() => applyMigrations(owner, migrations, { variant: "jsonb", steps: { onEvent } }))).ms,
                    logFrom: from,
                };
            } finally {
                await owner.end();
            }
        })().catch(async (error: unknown) => {
            await app.stop();
            throw error;
        });
        const load = await app.stop();
        const waits = [
            ...server
                .log()
                .slice(logFrom)
                .matchAll(/\] app-[\w-]+: LOG:\s+process \d+ (acquired .* after ([\d.]+) ms)/g),
        ];
        const longestWaits = waits
            .sort((x, y) => Number(y[2]) - Number(x[2]))
            .slice(0, 3)
            .map((m) => m[1]);
        return { ms, load, lockWaits: waits.map((m) => Number(m[2])), longestWaits, steps };
    };
    return {
        steps: await run("switch_steps", "the switch in steps (stand-in real[])", program),
        inPlace: await run("switch_in_place", "the in-place conversion (0010's check, alter … type real[])", [...base, inPlace]),
    };
}

/** Milliseconds to switch the same rows on a fresh PGlite: the real files, in steps or in place (0010). */
async function onPglite(ctx: BenchContext, size: (typeof SIZES)["full"], how: "steps" | "in place"): Promise<number> {
    const options = schemaOptions({ vectorDimensions: size.dimensions });
    const jsonb = rendered(options);
    const vector = rendered({ ...options, vector: true });
    const server = await startPgliteServer();
    let client: Client | undefined;
    try {
        client = await connect({
            host: server.host,
            port: server.port,
            user: server.user,
            password: server.password,
            database: server.database,
        });
        await applyMigrations(client, jsonb.migrations, { variant: jsonb.variant });
        ctx.progress(`switch: seeding ${size.users * size.goalsPerUser} goals on PGlite + pgvector (${how})`);
        await seedEmbeddings(client, size);
        await client.query("analyze");
        ctx.progress(`switch: ${how === "steps" ? "0015 + 0016 in steps" : "0010_vector in place"} on PGlite`);
        if (how === "steps") {
            return (await timed(() => applyMigrations(client!, vector.migrations, { variant: vector.variant }))).ms;
        }
        // As the engine applied 0010 before it was retired: the file and its ledger row in one transaction.
        const retired = vector.migrations.find((m) => m.name === "0010_vector.sql")!;
        return (
            await timed(async () => {
                await client!.query("begin");
                await client!.query(retired.sql);
                await recordMigration(client!, { name: retired.name, checksum: retired.checksum, variant: vector.variant, durationMs: 0 });
                await client!.query("commit");
            })
        ).ms;
    } finally {
        await client?.end().catch(() => undefined);
        await server.stop();
    }
}
