// memory-stack status: applied, pending and drifted migrations; exit 1 unless up to date.
import { schemaStatus } from "../../engine/migrate/index";
import type { Command } from "./command";
import { driftLines } from "./drift";

export const status: Command = async ({ client, migrations, variant }) => {
    const result = await schemaStatus(client, migrations, variant);
    const lines = [
        result.upToDate ? `up to date at ${result.applied.at(-1)?.name} (${variant})` : `not up to date (${variant})`,
        ...result.applied.map((row) => `  applied  ${row.name}  ${row.variant}  ${row.appliedAt.toISOString()}  ${row.durationMs} ms`),
        ...result.pending.map((name) => `  pending  ${name}`),
        ...driftLines(result.drift),
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
            drift: result.drift,
        },
    };
};
