// Planning is pure: the ledger rows and the program's rendered migrations in, what is applied, what
// is pending and what drifted out. Every refusal is decided here, before anything runs.
import type { LedgerRow } from "./ledger";
import { isRetired } from "./retired";
import type { StepRow } from "./step-ledger";

/** A rendered migration, as engine/migrate/render.ts produces it. */
export interface MigrationFile {
    /** File name, e.g. 0001_extensions.sql; the ledger key. */
    name: string;
    /** Rendered SQL for the stack's variant. */
    sql: string;
    /** sha256 hex of `sql`. */
    checksum: string;
}

export type Drift =
    /** An applied migration whose rendered text is not what was applied. */
    | { kind: "checksum"; name: string; appliedChecksum: string; checksum: string; appliedVariant: string; variant: string }
    /** A ledger row for a migration this program does not render. */
    | { kind: "unknown"; name: string; appliedVariant: string; variant: string }
    /** Steps done of an unfinished migration (memory_stack.migration_steps) that this program renders differently, or not at all. */
    | {
          kind: "partial";
          name: string;
          steps: string[];
          appliedChecksum: string;
          checksum: string | undefined;
          appliedVariant: string;
          variant: string;
      };

export interface Plan {
    variant: string;
    /** Ledger rows that match the program, in order. */
    applied: LedgerRow[];
    /** Migrations to run, in order. */
    pending: MigrationFile[];
    drift: Drift[];
}

/** The ledger's name for a variant: "jsonb", or "vector(<dimensions>,<index>)". */
export function describeVariant(options: { vector: boolean; vectorDimensions: number; vectorIndex: string }): string {
    return options.vector ? `vector(${options.vectorDimensions},${options.vectorIndex})` : "jsonb";
}

/** `steps`: the step ledger (step-ledger.ts); a stepped migration under way is pending and resumes where it stopped. */
export function planMigrations(ledger: LedgerRow[], migrations: MigrationFile[], variant: string, steps: readonly StepRow[] = []): Plan {
    checkMigrationList(migrations);
    const byName = new Map(ledger.map((row) => [row.name, row]));
    const known = new Set(migrations.map((migration) => migration.name));
    const plan: Plan = { variant, applied: [], pending: [], drift: [] };
    for (const migration of migrations) {
        const row = byName.get(migration.name);
        if (row === undefined && isRetired(migration.name)) {
            continue; // never applied here, and never will be (retired.ts)
        } else if (row === undefined) {
            plan.pending.push(migration);
        } else if (row.checksum === migration.checksum) {
            plan.applied.push(row);
        } else {
            plan.drift.push({
                kind: "checksum",
                name: row.name,
                appliedChecksum: row.checksum,
                checksum: migration.checksum,
                appliedVariant: row.variant,
                variant,
            });
        }
    }
    for (const row of ledger) {
        if (!known.has(row.name)) {
            plan.drift.push({ kind: "unknown", name: row.name, appliedVariant: row.variant, variant });
        }
    }
    plan.drift.push(...partialDrift(steps, migrations, variant));
    return plan;
}

/** Refuses an apply that would run on top of drift; nothing has run when this is thrown. */
export class SchemaRefusedError extends Error {
    constructor(readonly drift: Drift[]) {
        super(`refusing to apply the schema; nothing was run:\n${drift.map((item) => `- ${explainDrift(item)}`).join("\n")}`);
        this.name = "SchemaRefusedError";
    }
}

export function explainDrift(drift: Drift): string {
    if (drift.kind === "partial") {
        const done = `${drift.name} is partly applied (steps done: ${drift.steps.join(", ")}; variant ${drift.appliedVariant})`;
        return drift.checksum === undefined
            ? `${done}, and this program (${drift.variant}) does not have it. Deploy with the options that started it to finish it ` +
                  "(for the vector switch: vector on, the same vectorDimensions and vectorIndex), or roll the schema back (it drops the memory tables)."
            : `${done} from another text (checksum ${short(drift.appliedChecksum)} then, ${short(drift.checksum)} now). Finish it with the ` +
                  `version and options that started it (variant ${drift.appliedVariant}), or roll the schema back (it drops the memory tables).`;
    }
    if (drift.kind === "checksum" && drift.appliedVariant !== drift.variant) {
        return (
            `${drift.name} was applied for variant ${drift.appliedVariant}, but this program renders it for ${drift.variant}. ` +
            "vectorDimensions and vectorIndex cannot change once the vector migration ran: set them back to match " +
            `${drift.appliedVariant}, or roll the schema back (pulumi destroy, or memory-stack rollback; it drops the memory tables) and apply again.`
        );
    }
    if (drift.kind === "checksum") {
        return (
            `${drift.name} changed after it was applied (checksum ${short(drift.appliedChecksum)} in the ledger, ${short(drift.checksum)} now). ` +
            `A migration that shipped is never edited: restore ${drift.name} as it was and put the change in a new migration ` +
            "(the next NNNN_*.sql). If an option that shapes the SQL changed (rls, appRole, adminRole), set it back."
        );
    }
    if (drift.appliedVariant.startsWith("vector") && !drift.variant.startsWith("vector")) {
        return (
            `vector is on in this database (${drift.name} was applied for ${drift.appliedVariant}) and off in this program. ` +
            "Turning vector off on a live stack is not supported (the embedding columns are vector(N) now): set vector: true " +
            "again, or roll the schema back (it drops the memory tables) and apply again."
        );
    }
    return (
        `the ledger records ${drift.name}, which this program does not have: a newer or different memory-stack migrated this database. ` +
        "Deploy with that version, or restore the missing migration file."
    );
}

/** Steps of an unfinished migration that this program would not resume: rendered differently, or not at all. */
function partialDrift(steps: readonly StepRow[], migrations: MigrationFile[], variant: string): Drift[] {
    const byName = new Map(migrations.map((migration) => [migration.name, migration]));
    const drift: Drift[] = [];
    for (const name of new Set(steps.map((row) => row.migration))) {
        const rows = steps.filter((row) => row.migration === name);
        const checksum = byName.get(name)?.checksum;
        if (rows.every((row) => row.checksum === checksum)) continue;
        drift.push({
            kind: "partial",
            name,
            steps: rows.map((row) => (row.finished ? row.step : `${row.step} (${row.rowsDone} rows)`)),
            appliedChecksum: rows[0].checksum,
            checksum,
            appliedVariant: rows[0].variant,
            variant,
        });
    }
    return drift;
}

function checkMigrationList(migrations: MigrationFile[]): void {
    const seen = new Set<string>();
    for (const migration of migrations) {
        if (seen.has(migration.name)) {
            throw new Error(`migration ${migration.name} is listed twice; every migration file name must be unique`);
        }
        seen.add(migration.name);
    }
}

function short(checksum: string): string {
    return checksum.slice(0, 12);
}
