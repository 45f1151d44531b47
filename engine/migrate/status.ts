// Status reads the ledger without the lock and changes nothing: what is applied, what is pending and
// whether the database drifted from the program (an edited migration, a ledger row for an unknown file).
import { ledgerExists, readLedger, type LedgerRow, type SqlClient } from "./ledger";
import { planMigrations, type Drift, type MigrationFile } from "./plan";
import { readStepLedger, type StepRow } from "./step-ledger";

export interface SchemaStatus {
    variant: string;
    /** False when memory_stack.migrations does not exist: nothing was ever applied here. */
    ledger: boolean;
    /** Ledger rows matching the program, in order. */
    applied: LedgerRow[];
    /** Migrations not applied yet, in order. */
    pending: string[];
    /** Steps done (or under way) of pending migrations that run in steps: what a resumed apply skips. */
    steps: StepRow[];
    drift: Drift[];
    /** Nothing pending and no drift. */
    upToDate: boolean;
}

export async function schemaStatus(client: SqlClient, migrations: MigrationFile[], variant: string): Promise<SchemaStatus> {
    const ledger = await ledgerExists(client);
    const steps = ledger ? await readStepLedger(client) : [];
    const plan = planMigrations(ledger ? await readLedger(client) : [], migrations, variant, steps);
    return {
        variant,
        ledger,
        applied: plan.applied,
        pending: plan.pending.map((migration) => migration.name),
        steps,
        drift: plan.drift,
        upToDate: plan.pending.length === 0 && plan.drift.length === 0,
    };
}
