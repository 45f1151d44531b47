// memory-stack plan: what an apply would run, from the ledger; exit 1 when the database drifted.
import { planMigrations, readLedger } from "../../engine/migrate/index";
import type { Command } from "./command";
import { driftLines } from "./drift";

export const plan: Command = async ({ client, migrations, variant }) => {
    const result = planMigrations(await readLedger(client), migrations, variant);
    const lines = [
        result.pending.length === 0 ? "nothing to apply" : `${result.pending.length} to apply:`,
        ...result.pending.map((migration) => `  ${migration.name}  sha256:${migration.checksum.slice(0, 12)}`),
        `${result.applied.length} applied`,
        ...driftLines(result.drift),
    ];
    return {
        exitCode: result.drift.length > 0 ? 1 : 0,
        text: lines.join("\n"),
        json: {
            variant,
            pending: result.pending.map(({ name, checksum }) => ({ name, checksum })),
            applied: result.applied.map((row) => row.name),
            drift: result.drift,
        },
    };
};
