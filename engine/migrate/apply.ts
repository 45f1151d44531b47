// Applies the pending migrations: under the advisory lock, each migration and its ledger row in one
// transaction. A failure rolls that migration back whole and names the file, statement and SQLSTATE;
// the migrations before it stay applied and recorded, so the next run resumes from there. A migration
// that declares steps (steps.ts) runs step by step instead (step-runner.ts) and resumes at its step.
import { performance } from "node:perf_hooks";
import { parseSqlFile, runStatements } from "./execute";
import { lineAt, type Statement } from "./statements";
import { ensureLedger, readLedger, recordMigration, type SqlClient } from "./ledger";
import { DEFAULT_LOCK_TIMEOUT_MS, withMigrationLock } from "./lock";
import { planMigrations, SchemaRefusedError, type MigrationFile } from "./plan";
import { repairUnderLock } from "./repair";
import { isRetired } from "./retired";
import { readStepLedger } from "./step-ledger";
import { applySteps, type StepOptions } from "./step-runner";
import { declaredSteps } from "./steps";

export interface MigrationProgress {
    name: string;
    durationMs: number;
    /** 1-based position among this run's pending migrations. */
    index: number;
    total: number;
}

export interface ApplyOptions {
    /** After applying, re-create these objects (repair.ts schemaObjects names) where missing, under the same lock. Default: none. */
    repair?: readonly string[];
    /** The variant the migrations were rendered for; recorded in the ledger (see describeVariant). */
    variant: string;
    /** Called after each migration commits. */
    onProgress?: (progress: MigrationProgress) => void;
    /** How long to wait for a concurrent apply or rollback to release the lock. Default: 600 000 ms. */
    lockTimeoutMs?: number;
    /** For migrations that declare steps: lock timeout and deadline, index memory bound, step progress. */
    steps?: StepOptions;
}

export interface ApplyResult {
    /** What this run applied, in order. */
    applied: { name: string; durationMs: number }[];
    /** Every migration of the program now in the ledger, in order. */
    appliedMigrations: string[];
    /** The last migration of the program, now applied. */
    version: string | undefined;
}

export async function applyMigrations(client: SqlClient, migrations: MigrationFile[], options: ApplyOptions): Promise<ApplyResult> {
    // Parse every file first: a malformed one fails before the lock is taken or anything runs.
    const parsed = new Map(
        await Promise.all(
            migrations.map(async (migration) => {
                const statements = await parseSqlFile(migration.name, migration.sql);
                return [migration.name, { statements, steps: declaredSteps(migration.name, migration.sql, statements) }] as const;
            }),
        ),
    );
    return withMigrationLock(client, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, async () => {
        // Planned under the lock: a concurrent apply that finished while we waited is in the ledger now.
        const ledger = await readLedger(client);
        const stepLedger = await readStepLedger(client);
        const plan = planMigrations(ledger, migrations, options.variant, stepLedger);
        if (plan.drift.length > 0) {
            throw new SchemaRefusedError(plan.drift);
        }
        const applied: ApplyResult["applied"] = [];
        for (const [position, migration] of plan.pending.entries()) {
            const { statements, steps } = parsed.get(migration.name)!;
            const durationMs = steps
                ? await applySteps(client, migration, steps, options.variant, stepLedger, options.steps)
                : await applyOne(client, migration, statements, options.variant);
            applied.push({ name: migration.name, durationMs });
            options.onProgress?.({ name: migration.name, durationMs, index: position + 1, total: plan.pending.length });
        }
        if (options.repair !== undefined) {
            await repairUnderLock(client, migrations, options.repair);
        }
        const inLedger = new Set(ledger.map((row) => row.name));
        return {
            applied,
            appliedMigrations: migrations
                .filter((migration) => !isRetired(migration.name) || inLedger.has(migration.name))
                .map((m) => m.name),
            version: migrations.at(-1)?.name,
        };
    });
}

async function applyOne(client: SqlClient, migration: MigrationFile, statements: Statement[], variant: string): Promise<number> {
    const outcome = `${migration.name} was rolled back: the database is as it was before it and the ledger does not list it. Fix the cause and run again.`;
    const started = performance.now();
    await client.query("begin");
    try {
        // Created in the first migration's transaction: a first migration that fails leaves no trace at all.
        await ensureLedger(client);
        await runStatements(client, migration.name, migration.sql, statements, outcome);
        const durationMs = performance.now() - started;
        await recordMigration(client, { name: migration.name, checksum: migration.checksum, variant, durationMs });
        // Deferred constraints fail here, at commit; that is still this file's failure.
        await runStatements(
            client,
            migration.name,
            migration.sql,
            [{ text: "commit", line: lineAt(migration.sql, migration.sql.length), offset: migration.sql.length }],
            outcome,
        );
        return durationMs;
    } catch (error) {
        // The original error is what matters; a rollback on a dead connection has nothing to undo.
        await client.query("rollback").catch(() => undefined);
        throw error;
    }
}
