// Applies the pending migrations: under the advisory lock, after the preflight found nothing in the
// way, each migration, the objects it created and its ledger row in one transaction with a short
// lock_timeout (retried with backoff while an application holds a lock). A failure rolls that
// migration back whole and names the file, statement and SQLSTATE; the migrations before it stay
// applied and recorded, so the next run resumes from there. A connection lost at COMMIT is answered
// by reading the ledger on a new connection. A migration that declares steps (steps.ts) runs step by
// step instead (step-runner.ts) and resumes at its step.
import { performance } from "node:perf_hooks";
import type { SqlClient } from "../db/client";
import { columnsChangedOnExisting, merged, type ChangedColumns } from "./changed-columns";
import { claimForStack, refuseOtherStack } from "./deployed-by";
import { grantUnderLock } from "./grants";
import { legacyRows } from "./ledger";
import { withMigrationLock } from "./lock";
import { planMigrations, SchemaRefusedError, type MigrationFile } from "./plan";
import type { SchemaOptions } from "./render";
import type { RepairResult } from "./repair";
import { isRetired } from "./retired";
import { applySearchSettings, type SearchSettings } from "./search-settings";
import { MigrationSession, type LockWaits, type SessionOptions } from "./session";
import { readLedgers } from "./step-ledger";
import { revokeUnrestrictedUnderLock } from "./unrestricted-privileges";
import type { StepOptions } from "./step-runner";

export interface MigrationProgress {
    name: string;
    /** Wall time, lock waits and retries included. */
    durationMs: number;
    /** 1-based position among this run's pending migrations. */
    index: number;
    total: number;
}

export interface ApplyOptions extends SessionOptions {
    /** The variant the migrations were rendered for; recorded in the ledger (see describeVariant). */
    variant: string;
    /** The options they were rendered with: the preflight checks their manifest, the ledger records them. Without them (engine tests' own migrations) there is no preflight. */
    schema?: SchemaOptions;
    /** After applying, re-create recorded objects that are missing, under the same lock. Default: false. */
    repair?: boolean;
    /** After applying, grant the roles of `schema` the privilege list on what the schema created (grants.ts), under the same lock. Default: false (the Pulumi stack's Grants component grants). */
    grantRoles?: boolean;
    /** After applying, set the stack's pgvector search settings on the database and reset the ones it no longer gives (search-settings.ts), under the same lock. Default: none touched. */
    searchSettings?: SearchSettings;
    /** Called after each migration commits. */
    onProgress?: (progress: MigrationProgress) => void;
    /** For migrations that declare steps: the index memory bound and step progress (locks come from the session). */
    steps?: StepOptions;
    /**
     * The Pulumi stack applying (project/stack), recorded in the ledger (deployed-by.ts); a database whose ledger names
     * another is refused before any change. Undefined: the CLI, which records and checks none.
     */
    stack?: string;
}

export interface ApplyResult {
    /** What this run applied, in order. */
    applied: { name: string; durationMs: number }[];
    /** Every migration of the program now in the ledger, in order. */
    appliedMigrations: string[];
    /** The last migration of the program, now applied. */
    version: string | undefined;
    /** What repair re-created (repair): the missing objects and the migrations re-run for them. */
    repaired: RepairResult;
    /** The GRANT statements run (grantRoles). */
    grants: string[];
    /** The GRANT statements the roles need on an application's own users table, left to its owner (grantRoles). */
    grantsLeftToYou: string[];
    /** The grantees (quoted, or public) that lost what unrestricted-privileges.ts takes: TRUNCATE, REFERENCES and TRIGGER on the memory tables, anything on the bookkeeping tables. */
    revokedFrom: string[];
    /** Columns this run added to, or dropped from, tables that were there before it (changed-columns.ts). */
    changedColumns: ChangedColumns[];
    /** Wall time of the whole run: the wait for the migration lock, the preflight, every migration with its lock waits and retries. */
    durationMs: number;
    /** How the run waited for locks (included in durationMs). */
    waits: LockWaits;
}

/** The lines that say what a repair did: re-created, and created beside that (which rollback, or destroy, now drops). */
export function describeRepair(repaired: RepairResult): string[] {
    const lines: string[] = [];
    if (repaired.missing.length > 0) {
        lines.push(`repaired: re-created ${repaired.missing.join(", ")} by running ${repaired.rerun.join(", ")} again`);
    }
    if (repaired.alsoCreated.length > 0) {
        const them = repaired.alsoCreated.length === 1 ? "it" : "them";
        lines.push(
            `repair also created ${repaired.alsoCreated.join(", ")}, which did not exist; recorded as the stack's, so rollback drops ${them}`,
        );
    }
    return lines;
}

export async function applyMigrations(client: SqlClient, migrations: MigrationFile[], options: ApplyOptions): Promise<ApplyResult> {
    const session = new MigrationSession(client, options);
    const started = performance.now();
    return withMigrationLock(session, async () => {
        const { ledger, steps: stepLedger, recordsTable } = await readLedgers(client);
        refuseOtherStack(ledger, options.stack);
        // Planned under the lock: a concurrent apply that finished while we waited is in the ledger now.
        const plan = planMigrations(ledger, migrations, options.variant, stepLedger);
        if (plan.drift.length > 0) {
            throw new SchemaRefusedError(plan.drift);
        }
        // What only an apply with something to do needs is loaded then: a repeated apply runs on every deploy.
        const work =
            plan.pending.length > 0 || legacyRows(ledger).length > 0
                ? await (
                      await import("./apply-pending")
                  ).applyPending(session, migrations, plan.pending, ledger, stepLedger, options, recordsTable)
                : { applied: [], recorded: undefined, recordedBefore: undefined };
        const { changedColumns: recreated, ...repaired } = options.repair
            ? await (await import("./repair")).repairUnderLock(session, migrations)
            : { missing: [], rerun: [], alsoCreated: [], changedColumns: [] };
        const grants: { granted: string[]; leftToYou: string[]; revokedFrom?: string[] } =
            options.grantRoles && options.schema
                ? await grantUnderLock(session, options.schema, options.repair ? undefined : work.recorded, work.applied.length === 0)
                : { granted: [], leftToYou: [] };
        // The tables this run created got the deployer's default privileges, which may give any role TRUNCATE or TRIGGER
        // (the grants took them already when they asked).
        const created = work.applied.length > 0 || repaired.rerun.length > 0;
        const revokedFrom = grants.revokedFrom ?? (created ? await revokeUnrestrictedUnderLock(session) : []);
        if (options.searchSettings) {
            await applySearchSettings(client, options.searchSettings);
        }
        if (options.stack !== undefined) {
            await claimForStack(client, ledger, options.stack);
        }
        const changedColumns = merged([
            ...(work.applied.length > 0
                ? columnsChangedOnExisting(
                      work.recorded ?? (await (await import("./ownership")).readRecords(client)),
                      work.applied.map((migration) => migration.name),
                      work.recordedBefore,
                  )
                : []),
            ...recreated,
        ]);
        const inLedger = new Set(ledger.map((row) => row.name));
        return {
            applied: work.applied,
            appliedMigrations: migrations
                .filter((migration) => !isRetired(migration.name) || inLedger.has(migration.name))
                .map((m) => m.name),
            version: migrations.at(-1)?.name,
            repaired,
            grants: grants.granted,
            grantsLeftToYou: grants.leftToYou,
            revokedFrom,
            changedColumns,
            durationMs: performance.now() - started,
            waits: session.waits,
        };
    });
}
