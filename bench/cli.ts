// Figure: the `memory-stack` command as a pipeline runs it, timed as whole processes from outside (start-up
// included), beside its yardsticks in the same run: `node -e 0` for --help, and node-pg-migrate (a
// devDependency) applying the same rendered SQL for apply and for a no-op apply. The two sides alternate,
// each on a database of its own created fresh for the run, so machine load hits both alike.
//
// Both commands run from a consumer project (a temp directory whose node_modules/.bin links both), as
// an application that installs memory-stack runs them: npx in memory-stack's own checkout would first
// install the checkout into its cache (npm does that for a project's own bin), which no user pays.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { connectionUrl } from "../engine/db/url";
import { median, ratio, type BenchContext, type PartResult, type Row } from "./support/measure";
import type { BenchPostgres } from "./support/postgres";
import { plainSql, rendered, schemaOptions } from "./support/schema";

const ROOT = join(__dirname, "..");

/** Milliseconds from spawning `command` in `cwd` to its exit; rejects when it exits non-zero. */
function timedRun(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
        execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) =>
            error
                ? reject(new Error(`${command} ${args.join(" ")} failed: ${stderr.trim().split("\n").slice(-3).join(" ")}`))
                : resolve(performance.now() - started),
        );
    });
}

/** A project that depends on memory-stack and node-pg-migrate: both bins linked, as npm links a dependency's. */
function consumerProject(dir: string): string {
    const project = join(dir, "consumer");
    mkdirSync(join(project, "node_modules", ".bin"), { recursive: true });
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    symlinkSync(join(ROOT, "bin", "memory-stack.js"), join(project, "node_modules", ".bin", "memory-stack"));
    symlinkSync(
        join(ROOT, "node_modules", "node-pg-migrate", "bin", "node-pg-migrate.js"),
        join(project, "node_modules", ".bin", "node-pg-migrate"),
    );
    return project;
}

/** A and B in turn, `runs` times each after one unmeasured round. */
async function alternate(
    runs: number,
    a: (round: number) => Promise<number>,
    b: (round: number) => Promise<number>,
): Promise<{ a: number[]; b: number[] }> {
    const samples = { a: [] as number[], b: [] as number[] };
    for (let round = 0; round <= runs; round++) {
        const [first, second] = [await a(round), await b(round)];
        if (round > 0) {
            samples.a.push(first);
            samples.b.push(second);
        }
    }
    return samples;
}

function row(figure: string, samples: { a: number[]; b: number[] }, baseline: string, note: string): Row {
    const value = median(samples.a);
    const base = median(samples.b);
    return {
        part: "cli",
        figure,
        value,
        unit: "ms",
        baseline: { label: baseline, value: base },
        ratio: ratio(value, base),
        repetitions: samples.a.length,
        note,
    };
}

export async function benchCli(ctx: BenchContext, pg: BenchPostgres): Promise<PartResult> {
    const runs = ctx.quick ? 3 : 11;
    const schema = rendered(schemaOptions());
    const dir = mkdtempSync(join(tmpdir(), "memory-stack-bench-cli-"));
    const project = consumerProject(dir);
    const migrationsDir = join(dir, "migrations");
    mkdirSync(migrationsDir);
    // node-pg-migrate's SQL migrations: the same rendered files, each under its "-- Up Migration" marker.
    for (const migration of (await plainSql(schema.migrations)).files) {
        writeFileSync(join(migrationsDir, migration.name), `-- Up Migration\n${migration.sql}\n`);
    }
    const url = (database: string) => connectionUrl(pg.settings(database));
    const databases: string[] = [];
    const fresh = async (prefix: string) => {
        const name = await pg.createDatabase(prefix);
        databases.push(name);
        return name;
    };
    const bin = (name: string) => join(project, "node_modules", ".bin", name);
    // With npx, or the linked bin itself: what a pipeline step runs either way.
    const memoryStack = (database: string, npx = true) =>
        npx
            ? timedRun(project, "npx", ["--offline", "memory-stack", "apply"], { DATABASE_URL: url(database) })
            : timedRun(project, bin("memory-stack"), ["apply"], { DATABASE_URL: url(database) });
    const npmArgs = ["up", "--migrations-dir", migrationsDir, "--no-verbose"];
    const nodePgMigrate = (database: string, npx = true) =>
        npx
            ? timedRun(project, "npx", ["--offline", "node-pg-migrate", ...npmArgs], { DATABASE_URL: url(database) })
            : timedRun(project, bin("node-pg-migrate"), npmArgs, { DATABASE_URL: url(database) });
    try {
        ctx.progress(`cli: --help vs node -e 0, ${runs} runs each`);
        const help = await alternate(
            runs,
            () => timedRun(project, bin("memory-stack"), ["--help"]),
            () => timedRun(project, process.execPath, ["-e", "0"]),
        );

        ctx.progress(`cli: apply to an empty database, memory-stack vs node-pg-migrate, ${runs} runs each`);
        const applied: [string, string][] = [];
        const apply = await alternate(
            runs,
            async () => {
                const database = await fresh("cli_ms");
                const ms = await memoryStack(database);
                applied.push([database, ""]);
                return ms;
            },
            async () => {
                const database = await fresh("cli_npm");
                const ms = await nodePgMigrate(database);
                applied[applied.length - 1][1] = database;
                return ms;
            },
        );

        ctx.progress(`cli: no-op apply on those databases, with npx and without, ${runs} runs each`);
        const noop = await alternate(
            runs,
            (round) => memoryStack(applied[round][0]),
            (round) => nodePgMigrate(applied[round][1]),
        );
        const noopBins = await alternate(
            runs,
            (round) => memoryStack(applied[round][0], false),
            (round) => nodePgMigrate(applied[round][1], false),
        );
        return {
            rows: [
                row("node_modules/.bin/memory-stack --help", help, "node -e 0", "target: at most 1.5x node -e 0"),
                row(
                    `npx memory-stack apply, ${schema.migrations.length} migrations, empty database`,
                    apply,
                    "npx node-pg-migrate up, same SQL",
                    "target: faster than node-pg-migrate",
                ),
                row(
                    "npx memory-stack apply with nothing to apply",
                    noop,
                    "npx node-pg-migrate up, nothing to apply",
                    "npx's own start-up is in both",
                ),
                row(
                    "node_modules/.bin/memory-stack apply with nothing to apply",
                    noopBins,
                    "node_modules/.bin/node-pg-migrate up",
                    "target: at most 0.6x",
                ),
            ],
            figures: { helpMs: help, applyMs: apply, noopMs: noop, noopBinsMs: noopBins, migrations: schema.migrations.length },
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
        for (const database of databases) {
            await pg.dropDatabase(database);
        }
    }
}
