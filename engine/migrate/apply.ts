// Applies the pending migrations: under the advisory lock, after the preflight found nothing in the
// way, each migration, the objects it created and its ledger row in one transaction with a short
// lock_timeout (retried with backoff while an application holds a lock). A failure rolls that
// migration back whole and names the file, statement and SQLSTATE; the migrations before it stay
// applied and recorded, so the next run resumes from there. A connection lost at COMMIT is answered
// by reading the ledger on a new connection. A migration that declares steps (steps.ts) runs step by
// step instead (step-runner.ts) and resumes at its step.
import { performance } from "node:perf_hooks";
import type { SqlClient } from "../db/client";
import { namedBy } from "./appeared";
import { boundedTransaction } from "./bounded";
import { FILE_SAVEPOINT, parseSqlFile, runFile, SqlFileError } from "./execute";
import { adoptLegacy, legacyRows } from "./legacy";
import { ensureLedger, readLedger, recordMigration } from "./ledger";
import { withMigrationLock } from "./lock";
import { findOutAfterLostCommit, isConnectionLost, LostCommitError } from "./lost-commit";
import { readRecords, recordCreated, type RecordedObject } from "./ownership";
import { planMigrations, SchemaRefusedError, type MigrationFile } from "./plan";
import { preflight, PreflightRefusedError } from "./preflight";
import type { SchemaOptions } from "./render";
import { grantUnderLock } from "./grants";
import { repairUnderLock } from "./repair";
import { applySearchSettings, type SearchSettings } from "./search-settings";
import { catalogFrom, snapshot, snapshotStatement, type CatalogObject } from "./snapshot";
import { MigrationSession, type LockWaits, type SessionOptions } from "./session";
import { lineAt, type Statement } from "./statements";
import { isRetired } from "./retired";
import { readStepLedger } from "./step-ledger";
import { applySteps, type StepOptions } from "./step-runner";
import { declaredSteps } from "./steps";

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
}

export interface ApplyResult {
    /** What this run applied, in order. */
    applied: { name: string; durationMs: number }[];
    /** Every migration of the program now in the ledger, in order. */
    appliedMigrations: string[];
    /** The last migration of the program, now applied. */
    version: string | undefined;
    /** The GRANT statements run (grantRoles). */
    grants: string[];
    /** The GRANT statements the roles need on an application's own users table, left to its owner (grantRoles). */
    grantsLeftToYou: string[];
    /** Wall time of the whole run: the wait for the migration lock, the preflight, every migration with its lock waits and retries. */
    durationMs: number;
    /** How the run waited for locks (included in durationMs). */
    waits: LockWaits;
}

export async function applyMigrations(client: SqlClient, migrations: MigrationFile[], options: ApplyOptions): Promise<ApplyResult> {
    const session = new MigrationSession(client, options);
    const started = performance.now();
    return withMigrationLock(session, async () => {
        const ledger = await readLedger(client);
        const stepLedger = await readStepLedger(client);
        // Planned under the lock: a concurrent apply that finished while we waited is in the ledger now.
        const plan = planMigrations(ledger, migrations, options.variant, stepLedger);
        if (plan.drift.length > 0) {
            throw new SchemaRefusedError(plan.drift);
        }
        if (plan.pending.length > 0) {
            // Opened now, while the preflight runs: each migration asks it what another session sees (appeared.ts).
            void session.observer();
        }
        // Every pending file parsed before the first runs: a malformed one fails with nothing applied. Only
        // the pending ones, so a no-op apply loads no SQL parser.
        const parsed = new Map(
            await Promise.all(
                plan.pending.map(async (migration) => [migration.name, await parseSqlFile(migration.name, migration.sql)] as const),
            ),
        );
        const known: RunState = { catalog: undefined, recorded: undefined, ledgerCurrent: false };
        const check = async () => {
            known.recorded = plan.pending.length > 0 ? await readRecords(client) : undefined;
            const conflicts = known.recorded && options.schema ? await preflight(client, options.schema, known.recorded) : [];
            if (conflicts.length > 0) {
                throw new PreflightRefusedError(conflicts);
            }
        };
        const legacy = legacyRows(ledger);
        if (legacy.length > 0) {
            // What an earlier release created is recorded first, and only kept when the preflight passes.
            await boundedTransaction(session, "recording what an earlier memory-stack created", "Nothing was changed.", async () => {
                await ensureLedger(client);
                await adoptLegacy(client, legacy, migrations);
                await check();
            });
        } else {
            await check();
        }
        const applied: ApplyResult["applied"] = [];
        for (const [position, migration] of plan.pending.entries()) {
            const before = applied.map((item) => item.name);
            const statements = parsed.get(migration.name)!;
            const steps = declaredSteps(migration.name, migration.sql, statements);
            const migrationStarted = performance.now();
            if (steps) {
                await applySteps(session, migration, steps, { ...options, done: stepLedger });
                // Its steps read and record for themselves.
                Object.assign(known, { catalog: undefined, recorded: undefined, ledgerCurrent: true });
            } else {
                await applyOne(session, migration, statements, options, before, known);
            }
            const durationMs = performance.now() - migrationStarted;
            applied.push({ name: migration.name, durationMs });
            options.onProgress?.({ name: migration.name, durationMs, index: position + 1, total: plan.pending.length });
        }
        if (options.repair) {
            await repairUnderLock(session, migrations);
        }
        const grants =
            options.grantRoles && options.schema
                ? await grantUnderLock(session, options.schema, options.repair ? undefined : known.recorded)
                : { granted: [], leftToYou: [] };
        if (options.searchSettings) {
            await applySearchSettings(client, options.searchSettings);
        }
        const inLedger = new Set(ledger.map((row) => row.name));
        return {
            applied,
            appliedMigrations: migrations
                .filter((migration) => !isRetired(migration.name) || inLedger.has(migration.name))
                .map((m) => m.name),
            version: migrations.at(-1)?.name,
            grants: grants.granted,
            grantsLeftToYou: grants.leftToYou,
            durationMs: performance.now() - started,
            waits: session.waits,
        };
    });
}

// What one run knows between its migrations, all of them applied under its migration lock: the catalog
// the last one left (so the next one can tell what another session made in between), the records as
// they stand, and whether the ledger is in today's shape.
interface RunState {
    /** Undefined: no migration of this run before it. */
    catalog: Map<string, CatalogObject> | undefined;
    /** Undefined: read them from the ownership table. */
    recorded: RecordedObject[] | undefined;
    ledgerCurrent: boolean;
}

async function applyOne(
    session: MigrationSession,
    migration: MigrationFile,
    statements: Statement[],
    options: ApplyOptions,
    appliedThisRun: string[],
    known: RunState,
): Promise<void> {
    const { client } = session;
    const outcome = `${migration.name} was rolled back: the database is as it was before it and the ledger does not list it. Fix the cause and run again.`;
    const earlier = appliedThisRun.length > 0 ? ` (this run applied ${appliedThisRun.join(", ")} before it)` : "";
    // With the ledger in place, the catalog read before the file and the file's savepoint go with the begin: the ledger's DDL,
    // when needed, comes before them.
    const atBegin = known.ledgerCurrent ? snapshotStatement(client) : undefined;
    const change = await boundedTransaction(
        session,
        migration.name,
        `Nothing of ${migration.name} was applied${earlier}.`,
        async (begun) => {
            const started = performance.now();
            if (atBegin === undefined) {
                // Created in the first migration's transaction: a first migration that fails leaves no trace at all.
                await ensureLedger(client);
            }
            // The catalog before the statements, read inside this transaction (never the last migration's: an object another
            // session created or dropped in between would be in neither read, and one this file then dropped or replaced would go
            // unseen). An object another session made before it is not written by this transaction, so it is never taken for
            // ours, and one of the schema's names there and not the stack's refuses the migration (appeared.ts).
            const before = atBegin === undefined ? await snapshot(client) : catalogFrom(begun.rows);
            // The catalog after the statements, read in the file's own round trip.
            const read = await runFile(client, migration.name, migration.sql, statements, outcome, {
                savepointTaken: atBegin !== undefined,
                then: snapshotStatement(client),
            });
            const durationMs = performance.now() - started;
            return recordCreated(client, migration.name, before, {
                connect: session.connect,
                observer: () => session.observer(),
                named: options.schema && namedBy(options.schema),
                since: known.catalog,
                recorded: known.recorded,
                after: read && catalogFrom(read.rows),
                alsoWrite: () =>
                    recordMigration(client, {
                        name: migration.name,
                        checksum: migration.checksum,
                        variant: options.variant,
                        options: options.schema,
                        durationMs,
                    }),
                outcome: `Nothing of ${migration.name} was applied${earlier}: it was rolled back whole and the ledger does not list it. Then run apply again.`,
            });
        },
        async () => {
            try {
                await client.query("commit");
            } catch (error) {
                if (!isConnectionLost(error)) {
                    // Deferred constraints fail here, at commit; that is still this file's failure.
                    const line = lineAt(migration.sql, migration.sql.length);
                    throw new SqlFileError(migration.name, line, "commit", (error as { code?: string }).code, error, outcome);
                }
                const truth = await findOutAfterLostCommit(session, async (fresh) =>
                    (await readLedger(fresh)).some((row) => row.name === migration.name),
                );
                throw new LostCommitError(`committing ${migration.name}`, truth, {
                    committed: `the ledger lists ${migration.name}: it is applied. Nothing after it ran; run apply again to continue.`,
                    rolledBack: `the ledger does not list ${migration.name}: it was rolled back and the database is as it was before it. Run apply again.`,
                    unknown: `whether ${migration.name} was applied is unknown. Run \`memory-stack status\` once the server answers: the ledger lists what is applied.`,
                    earlier,
                });
            }
        },
        atBegin === undefined ? "" : `${FILE_SAVEPOINT}; ${atBegin}`,
    );
    Object.assign(known, { catalog: change.after, recorded: change.recorded, ledgerCurrent: true });
}
