// Benchmark, not a test: Debian's pgbench straight to PostgreSQL 15 (max_connections=20, the seed's)
// and through PgBouncer on the package's rendered config, at 16 and 200 clients; tps and errors side by side.
// Needs `pgbouncer` and `pgbench` (Debian: apt-get install -y pgbouncer postgresql-15).
//   npx tsx bench/pooling.ts [--duration 5] [--clients 16,200] [--workloads select-only,tpcb-like]
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { parseConfig } from "../engine/config/config";
import { startEmbeddedPostgres, type RunningServer } from "../test/support/embedded-server";
import { startPgBouncer, type RunningPgBouncer } from "../test/support/pgbouncer";

export type Workload = "select-only" | "tpcb-like";

export interface PoolingBenchOptions {
    /** Seconds per pgbench run. Default: 5. */
    durationSeconds?: number;
    /** Client counts to compare. Default: 16 and 200. */
    clients?: number[];
    /** pgbench built-in scripts. Default: select-only and tpcb-like. */
    workloads?: Workload[];
    /** Progress lines. Default: none. */
    log?: (line: string) => void;
}

export interface PgbenchRun {
    tps: number | undefined;
    transactions: number;
    /** Failed transactions plus connections pgbench could not open. */
    errors: number;
    /** pgbench gave up (it stops at the first connection it cannot open). */
    aborted: boolean;
    /** The first error pgbench reported, when any. */
    firstError?: string;
}

export interface PoolingBenchRow {
    workload: Workload;
    clients: number;
    direct: PgbenchRun;
    pooled: PgbenchRun;
}

export interface PoolingBenchResult {
    rows: PoolingBenchRow[];
    /** Each workload at the first client count again, through a PgBouncer without the per-transaction reset: what the reset costs (unsafe, reference only). */
    withoutReset: { workload: Workload; clients: number; pooled: PgbenchRun }[];
    durationSeconds: number;
    maxConnections: number;
    pgbouncer: string;
    pool: string;
}

const DATABASE = "bench";
const ROLE = { name: "bench_app", password: "bench-app-password-0123" };

export async function runPoolingBenchmark(options: PoolingBenchOptions = {}): Promise<PoolingBenchResult> {
    const durationSeconds = options.durationSeconds ?? 5;
    const clients = options.clients ?? [16, 200];
    const workloads = options.workloads ?? ["select-only", "tpcb-like"];
    const log = options.log ?? (() => undefined);
    const pgbench = findPgbench();
    // The seed's server and the stack's default pooler: its client limit is what the figures claim.
    const config = parseConfig({ database: DATABASE });
    let server: RunningServer | undefined;
    let bouncer: RunningPgBouncer | undefined;
    try {
        log(`starting PostgreSQL 15 with max_connections=${config.maxConnections}`);
        server = await startEmbeddedPostgres({ flags: ["-c", `max_connections=${config.maxConnections}`] });
        await prepare(server, pgbench);
        bouncer = await startPgBouncer({ config, server, users: [ROLE] });
        const cases = workloads.flatMap((workload) => clients.map((count) => ({ workload, clients: count })));
        // Every direct run first: afterwards PgBouncer keeps its idle server connections (up to its pool) open.
        const direct: PgbenchRun[] = [];
        for (const c of cases) {
            await drained(server);
            log(`${c.workload}, ${c.clients} clients: direct`);
            direct.push(await runPgbench(pgbench, server, c.workload, c.clients, durationSeconds));
        }
        const rows: PoolingBenchRow[] = [];
        for (const [i, c] of cases.entries()) {
            log(`${c.workload}, ${c.clients} clients: through PgBouncer`);
            rows.push({ ...c, direct: direct[i], pooled: await runPgbench(pgbench, bouncer, c.workload, c.clients, durationSeconds) });
        }
        await bouncer.stop();
        // The same pooler without server_reset_query: a client's session settings would reach the next client.
        bouncer = await startPgBouncer({ config, server, users: [ROLE], editIni: (ini) => ini.replace(/^server_reset_query.*$/gm, "") });
        const withoutReset: PoolingBenchResult["withoutReset"] = [];
        for (const c of cases.filter((each) => each.clients === clients[0])) {
            log(`${c.workload}, ${c.clients} clients: through PgBouncer without the per-transaction reset (reference)`);
            withoutReset.push({ ...c, pooled: await runPgbench(pgbench, bouncer, c.workload, c.clients, durationSeconds) });
        }
        const { pooling } = config;
        return {
            rows,
            withoutReset,
            durationSeconds,
            maxConnections: config.maxConnections,
            pgbouncer: `PgBouncer ${bouncer.version}`,
            pool: `${pooling.mode} mode, pool ${pooling.defaultPoolSize} + reserve ${pooling.reservePoolSize}`,
        };
    } finally {
        await bouncer?.stop();
        await server?.stop();
    }
}

export function formatPoolingBenchmark(result: PoolingBenchResult): string {
    const header = ["workload", "clients", "direct tps", "direct errors", "pooled tps", "pooled errors"];
    const table = result.rows.map((row) => [
        row.workload,
        String(row.clients),
        tps(row.direct),
        errors(row.direct),
        tps(row.pooled),
        errors(row.pooled),
    ]);
    const widths = header.map((title, i) => Math.max(title.length, ...table.map((cells) => cells[i].length)));
    const line = (cells: string[]) => cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
    const notes = result.rows
        .flatMap(
            (row) =>
                [
                    ["direct", row.direct],
                    ["pooled", row.pooled],
                ] as const,
        )
        .filter(([, run]) => run.firstError)
        .map(([path, run]) => `  ${path}: ${run.firstError}`);
    return [
        `pgbench, ${result.durationSeconds} s per run; PostgreSQL 15 max_connections=${result.maxConnections}; ${result.pgbouncer}, ${result.pool}`,
        line(header),
        ...table.map(line),
        ...result.withoutReset.map(
            (reference) =>
                `without the per-transaction reset (unsafe, reference): ${reference.workload}, ${reference.clients} clients, ${tps(reference.pooled)} tps`,
        ),
        ...(notes.length > 0 ? ["first errors:", ...[...new Set(notes)]] : []),
    ].join("\n");
}

/** Debian's pgbench: the newest /usr/lib/postgresql/<major>/bin/pgbench, else pgbench on PATH. */
function findPgbench(): string {
    const root = "/usr/lib/postgresql";
    const majors = existsSync(root)
        ? readdirSync(root)
              .filter((d) => /^\d+$/.test(d))
              .sort((a, b) => Number(b) - Number(a))
        : [];
    for (const major of majors) {
        const candidate = join(root, major, "bin", "pgbench");
        if (existsSync(candidate)) {
            return candidate;
        }
    }
    try {
        execFileSync("pgbench", ["--version"], { stdio: "ignore" });
        return "pgbench";
    } catch {
        throw new Error("pgbench is not installed; on Debian it ships in postgresql-15: apt-get install -y postgresql-15");
    }
}

async function prepare(server: RunningServer, pgbench: string): Promise<void> {
    const admin = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" });
    await admin.connect();
    try {
        await admin.query(`create database ${DATABASE}`);
        await admin.query(`create role ${ROLE.name} login password '${ROLE.password}'`);
    } finally {
        await admin.end();
    }
    const init = await run(pgbench, ["-i", "-q", "-s", "1", ...target(server, server.user), DATABASE], server.password);
    if (init.code !== 0) {
        throw new Error(`pgbench -i failed (exit ${init.code}): ${init.stderr.trim()}`);
    }
    const owner = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: DATABASE });
    await owner.connect();
    try {
        // The runs go as an ordinary role, as an application would, so PostgreSQL's reserved slots apply.
        await owner.query(`grant select, insert, update on all tables in schema public to ${ROLE.name}`);
    } finally {
        await owner.end();
    }
}

/** Waits until the previous run's backends have exited, so each run starts with every slot free. */
async function drained(server: RunningServer): Promise<void> {
    const deadline = Date.now() + 10_000;
    const client = new Client({ host: server.host, port: server.port, user: server.user, password: server.password, database: "postgres" });
    await client.connect();
    try {
        while (Date.now() < deadline) {
            const { rows } = await client.query("select count(*)::int as n from pg_stat_activity where usename = $1", [ROLE.name]);
            if (rows[0].n === 0) {
                return;
            }
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`backends of ${ROLE.name} still connected after 10 s`);
    } finally {
        await client.end();
    }
}

async function runPgbench(
    pgbench: string,
    at: { host: string; port: number },
    workload: Workload,
    clients: number,
    seconds: number,
): Promise<PgbenchRun> {
    const { code, stdout, stderr } = await run(
        pgbench,
        ["-n", "-b", workload, "-c", String(clients), "-j", "2", "-T", String(seconds), ...target(at, ROLE.name), DATABASE],
        ROLE.password,
    );
    const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? NaN);
    const errorLines = stderr.split("\n").filter((l) => /error|fatal/i.test(l));
    // pgbench stops at the first connection it cannot open, and reports that one.
    const connectFailures = errorLines.filter((l) => /connection to server .* failed/.test(l)).length;
    const failed = number(/number of failed transactions: (\d+)/);
    const transactions = number(/number of transactions actually processed: (\d+)/);
    const tpsValue = number(/tps = ([\d.]+)/);
    return {
        tps: Number.isFinite(tpsValue) ? tpsValue : undefined,
        transactions: Number.isFinite(transactions) ? transactions : 0,
        errors: (Number.isFinite(failed) ? failed : 0) + connectFailures,
        aborted: code !== 0,
        ...(errorLines.length > 0
            ? {
                  firstError: errorLines[0]
                      .replace(/^pgbench: error: /, "")
                      .replace(/\s+/g, " ")
                      .trim(),
              }
            : {}),
    };
}

function target(at: { host: string; port: number }, user: string): string[] {
    return ["-h", at.host, "-p", String(at.port), "-U", user];
}

function run(command: string, args: string[], password: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { env: { ...process.env, PGPASSWORD: password }, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.once("error", reject);
        child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });
}

function tps(runResult: PgbenchRun): string {
    return runResult.tps === undefined ? "-" : runResult.tps.toFixed(0);
}

function errors(runResult: PgbenchRun): string {
    return `${runResult.errors}${runResult.aborted ? " (aborted)" : ""}`;
}

function argument(name: string): string | undefined {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? process.argv[index + 1] : undefined;
}

if (require.main === module) {
    const duration = argument("duration");
    const clientList = argument("clients");
    const workloadList = argument("workloads");
    runPoolingBenchmark({
        durationSeconds: duration ? Number(duration) : undefined,
        clients: clientList ? clientList.split(",").map(Number) : undefined,
        workloads: workloadList ? (workloadList.split(",") as Workload[]) : undefined,
        log: (line) => console.error(`[bench] ${line}`),
    }).then(
        (result) => console.log(formatPoolingBenchmark(result)),
        (error) => {
            console.error(error instanceof Error ? error.message : error);
            process.exitCode = 1;
        },
    );
}
