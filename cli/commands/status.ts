// memory-stack status: applied, pending and drifted migrations; exit 1 unless up to date.
import { schemaStatus } from "../../engine/migrate/status";
import type { Command } from "./command";
import { driftLines } from "./drift";

export const status: Command = async ({ client, migrations, variant }) => {
    const result = await schemaStatus(client, migrations, variant);
    const lines = [
        result.upToDate ? `up to date at ${result.applied.at(-1)?.name} (${variant})` : `not up to date (${variant})`,
        ...result.applied.map((row) => `  applied  ${row.name}  ${row.variant}  ${row.appliedAt.toISOString()}  ${row.durationMs} ms`),
        ...result.pending.map((name) => `  pending  ${name}${partly(result.steps.filter((row) => row.migration === name))}`),
        ...driftLines(result.drift),
        ...(result.pending.length > 0 && result.drift.length === 0
            ? [
                  "What to do: run `memory-stack apply` (or `pulumi up`) to apply what is pending; `memory-stack plan` says first whether it can",
              ]
            : []),
    ];
    return {
        exitCode: result.upToDate ? 0 : 1,
        text: lines.join("\n"),
        json: {
            variant,
            upToDate: result.upToDate,
            applied: result.applied.map((row) => ({
                name: row.name,
                checksum: row.checksum,
                variant: row.variant,
                appliedAt: row.appliedAt.toISOString(),
                durationMs: row.durationMs,
            })),
            pending: result.pending,
            steps: result.steps,
            drift: result.drift,
        },
    };
};

/** ", partly applied: precheck, expand done; backfill_goals 4,000 rows so far" for a migration under way. */
function partly(steps: { step: string; finished: boolean; rowsDone: number }[]): string {
    if (steps.length === 0) return "";
    const done = steps.filter((row) => row.finished).map((row) => row.step);
    const underWay = steps.filter((row) => !row.finished).map((row) => `${row.step} ${row.rowsDone.toLocaleString("en-US")} rows so far`);
    return `, partly applied: ${[...(done.length > 0 ? [`${done.join(", ")} done`] : []), ...underWay].join("; ")}`;
}
