// `npm run bench`: memory-stack measured against its baselines, in one run on this machine.
//
//   npm run bench                      every part, full sizes; writes bench/results.json
//   npm run bench -- --quick           small sizes, few repetitions: a smoke run
//   npm run bench -- --only similarity one part (comma-separated for several)
//   npm run bench -- --out path.json   write the figures elsewhere
//
// Progress lines go to stderr, the table to stdout. A part that fails is reported in the table and
// the run goes on; the exit code is 1 when any part failed.
import { cpus, loadavg, totalmem } from "node:os";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { benchApply } from "./apply";
import { benchCli } from "./cli";
import { benchDeploy } from "./deploy";
import { benchNoop } from "./noop";
import { benchRls } from "./rls";
import { benchPooling } from "./support/pooling-rows";
import { benchSimilarity } from "./similarity";
import { benchSwitch } from "./switch";
import { benchVerify } from "./verify";
import { withDeadline } from "./support/deadline";
import { progressLogger, type BenchContext, type PartResult, type Row } from "./support/measure";
import { startBenchPostgres, type BenchPostgres } from "./support/postgres";
import { formatTable } from "./support/table";

type Part = (ctx: BenchContext, pg: () => Promise<BenchPostgres>) => Promise<PartResult>;

/** Per part: a quick part takes seconds, the full similarity part some 17 minutes. */
const PART_DEADLINE_MS = { quick: 10 * 60_000, full: 2 * 60 * 60_000 };

const PARTS: Record<string, Part> = {
    apply: async (ctx, pg) => benchApply(ctx, await pg()),
    cli: async (ctx, pg) => benchCli(ctx, await pg()),
    noop: async (ctx, pg) => benchNoop(ctx, await pg()),
    verify: async (ctx, pg) => benchVerify(ctx, await pg()),
    deploy: async (ctx, pg) => benchDeploy(ctx, await pg()),
    pooling: async (ctx) => benchPooling(ctx),
    rls: async (ctx) => benchRls(ctx),
    similarity: async (ctx, pg) => benchSimilarity(ctx, await pg()),
    switch: async (ctx) => benchSwitch(ctx),
};

export interface BenchArgs {
    quick: boolean;
    only: string[];
    out: string;
}

export function parseArgs(argv: string[]): BenchArgs {
    const args: BenchArgs = { quick: false, only: Object.keys(PARTS), out: join(__dirname, "results.json") };
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (flag === "--quick") {
            args.quick = true;
        } else if (flag === "--only" || flag === "--out") {
            const value = argv[++i];
            if (value === undefined || value.startsWith("--")) {
                throw new Error(`${flag} needs a value`);
            }
            if (flag === "--out") {
                args.out = value;
            } else {
                args.only = value
                    .split(",")
                    .map((part) => part.trim())
                    .filter((part) => part !== "");
                const unknown = args.only.filter((part) => !(part in PARTS));
                if (unknown.length > 0 || args.only.length === 0) {
                    throw new Error(`--only ${value}: unknown part ${unknown.join(", ")}; the parts are ${Object.keys(PARTS).join(", ")}`);
                }
            }
        } else {
            throw new Error(
                `unknown argument ${flag}; usage: npm run bench -- [--quick] [--only ${Object.keys(PARTS).join("|")}] [--out file.json]`,
            );
        }
    }
    return args;
}

async function main(): Promise<number> {
    const args = parseArgs(process.argv.slice(2));
    const started = performance.now();
    const ctx: BenchContext = { quick: args.quick, progress: progressLogger(started) };
    const machine = {
        cores: cpus().length,
        cpu: cpus()[0]?.model.trim() ?? "unknown",
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
        loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    };
    ctx.progress(
        `memory-stack bench (${args.quick ? "quick" : "full"}): ${args.only.join(", ")} on ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}`,
    );

    let server: Promise<BenchPostgres> | undefined;
    const pg = () => (server ??= (ctx.progress("starting embedded PostgreSQL 15 (pg_stat_statements on)"), startBenchPostgres()));
    const rows: Row[] = [];
    const parts: Record<string, unknown> = {};
    let failed = false;
    try {
        for (const name of args.only) {
            const partStarted = performance.now();
            try {
                const result = await withDeadline(
                    PARTS[name](ctx, pg),
                    PART_DEADLINE_MS[args.quick ? "quick" : "full"],
                    `the ${name} part`,
                );
                rows.push(...result.rows);
                parts[name] = { ...result.figures, durationMs: Math.round(performance.now() - partStarted) };
            } catch (error) {
                failed = true;
                const message = (error as Error).message.split("\n")[0];
                ctx.progress(`${name} failed: ${(error as Error).stack ?? message}`);
                rows.push({ part: name, figure: "(part failed)", value: null, unit: "ms", baseline: null, ratio: null, note: message });
                parts[name] = { error: (error as Error).message };
            }
        }
    } finally {
        if (server) {
            await (await server).stop();
        }
    }
    const durationMs = Math.round(performance.now() - started);
    const results = {
        date: new Date().toISOString(),
        mode: args.quick ? "quick" : "full",
        machine: { ...machine, loadAverageAtEnd: loadavg().map((value) => Math.round(value * 100) / 100) },
        durationMs,
        table: rows,
        parts,
    };
    writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(
        `\nmemory-stack bench, ${results.date.slice(0, 10)}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}` +
            ` (${results.mode}, ${(durationMs / 1000).toFixed(0)} s), load average ${machine.loadAverageAtStart[0]} at start and ` +
            `${results.machine.loadAverageAtEnd[0]} at end\n\n${formatTable(rows)}\n\nfigures: ${args.out}\n`,
    );
    return failed ? 1 : 0;
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (error) => {
            process.stderr.write(`bench: ${(error as Error).message}\n`);
            process.exit(2);
        },
    );
}
