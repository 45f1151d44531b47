// memory-stack plan: what an apply would run and every conflict in its way, without changing anything;
// exit 1 when the database drifted or apply would refuse.
import { formatConflicts } from "../../engine/migrate/preflight";
import { previewApply } from "../../engine/migrate/preview";
import type { Command } from "./command";
import { driftLines } from "./drift";

export const plan: Command = async ({ client, schema, migrations, variant, session }) => {
    const { plan: result, conflicts } = await previewApply(client, migrations, { variant, schema, locks: session.locks });
    const lines = [
        result.pending.length === 0 ? "nothing to apply" : `${result.pending.length} to apply:`,
        ...result.pending.map((migration) => `  ${migration.name}  sha256:${migration.checksum.slice(0, 12)}`),
        `${result.applied.length} applied`,
        ...driftLines(result.drift),
        ...(conflicts.length === 0
            ? []
            : [`apply would refuse: ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}`, formatConflicts(conflicts)]),
    ];
    return {
        exitCode: result.drift.length > 0 || conflicts.length > 0 ? 1 : 0,
        text: lines.join("\n"),
        json: {
            variant,
            pending: result.pending.map(({ name, checksum }) => ({ name, checksum })),
            applied: result.applied.map((row) => row.name),
            drift: result.drift,
            conflicts,
        },
    };
};
