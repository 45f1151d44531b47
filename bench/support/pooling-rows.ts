// Figure 5 as table rows: the pooling helper's benchmark (bench/pooling.ts, pgbench straight to
// PostgreSQL 15 and through PgBouncer on the package's rendered config), tps and errors side by side.
import { runPoolingBenchmark, type PoolingBenchResult } from "../pooling";
import { ratio, type BenchContext, type PartResult, type Row } from "./measure";

export async function benchPooling(ctx: BenchContext): Promise<PartResult> {
    let result: PoolingBenchResult;
    try {
        result = await runPoolingBenchmark({
            durationSeconds: ctx.quick ? 2 : 3,
            clients: [16, 200],
            workloads: ctx.quick ? ["select-only"] : ["select-only", "tpcb-like"],
            log: (line) => ctx.progress(`pooling: ${line}`),
        });
    } catch (error) {
        // A machine without Debian's pgbench or pgbouncer skips this part, saying which is missing.
        const message = (error as Error).message;
        if (/is not installed/.test(message)) {
            ctx.progress(`pooling: skipped: ${message}`);
            return {
                rows: [{ part: "pooling", figure: "(skipped)", value: null, unit: "tps", baseline: null, ratio: null, note: message }],
                figures: { skipped: message },
            };
        }
        throw error;
    }
    const rows: Row[] = result.rows.flatMap(({ workload, clients, direct, pooled }) => [
        {
            part: "pooling",
            figure: `pgbench ${workload}, ${clients} clients, ${result.durationSeconds} s: tps`,
            value: pooled.tps ?? null,
            unit: "tps" as const,
            baseline: { label: "direct to PostgreSQL", value: direct.tps ?? null },
            ratio: ratio(pooled.tps ?? null, direct.tps ?? null),
            repetitions: 1,
            note: `through ${result.pgbouncer}, ${result.pool}; max_connections=${result.maxConnections}`,
        },
        {
            part: "pooling",
            figure: `pgbench ${workload}, ${clients} clients: errors`,
            value: pooled.errors,
            unit: "errors" as const,
            baseline: { label: "direct to PostgreSQL", value: direct.errors },
            ratio: null,
            repetitions: 1,
            note: [pooled.firstError && `pooled: ${pooled.firstError}`, direct.firstError && `direct: ${direct.firstError}`]
                .filter(Boolean)
                .join("; ")
                .slice(0, 120),
        },
    ]);
    for (const reference of result.withoutReset) {
        const reset = result.rows.find((row) => row.workload === reference.workload && row.clients === reference.clients);
        rows.push({
            part: "pooling",
            figure: `pgbench ${reference.workload}, ${reference.clients} clients: tps with the per-transaction reset`,
            value: reset?.pooled.tps ?? null,
            unit: "tps",
            baseline: { label: "the same PgBouncer without server_reset_query (unsafe)", value: reference.pooled.tps ?? null },
            ratio: ratio(reset?.pooled.tps ?? null, reference.pooled.tps ?? null),
            repetitions: 1,
            note: "what the reset before the next client costs (docs/rls.md)",
        });
    }
    return { rows, figures: { ...result } };
}
