// Rollback: under the migration lock, in one transaction with a short lock_timeout (retried while an
// application holds a lock): record what an earlier release created if it did not (legacy.ts), lock
// what will be dropped, run the data guard over it, then rollback.sql, which drops the recorded
// objects and nothing else. Everything it drops is read from the database's ownership records, so
// state written by any release is rolled back by the same rules.
import { performance } from "node:perf_hooks";
import type { SqlClient } from "../db/client";
import { describeError } from "../db/errors";
import { applicationColumns } from "./application-columns";
import { attachedParents } from "./attached-parents";
import { boundedTransaction } from "./bounded";
import { otherStacks } from "./deployed-by";
import { dependentObjects, DependentObjectsRefusedError } from "./dependents";
import { parseSqlFile, runStatements, SqlFileError } from "./execute";
import { countAtRisk, DataLossRefusedError, lockAtRisk } from "./guard";
import { comparedOrigins, reusedRecords } from "./identity";
import { adoptLegacy } from "./legacy";
import { ensureLedger, LEDGER_SCHEMA, LEDGER_TABLE, legacyRows, OWNERSHIP_TABLE, readLedger } from "./ledger";
import { withMigrationLock } from "./lock";
import { LOCK_STILL_HELD, lockLostAtRollback } from "./lock-held";
import { findOutAfterLostCommit, isConnectionLost, LostCommitError } from "./lost-commit";
import { recordedOptions } from "./options";
import { readRecords, type RecordedObject } from "./ownership";
import { databasesUsingRoles } from "./roles-elsewhere";
import { loadMigrationSources, renderMigrations, type SchemaOptions } from "./render";
import { snapshot, type ObjectKind } from "./snapshot";
import { subscribedTables } from "./subscribed-tables";
import { MigrationSession, type LockWaits, type SessionOptions } from "./session";

export { DataLossRefusedError };

/** The kinds rollback.sql drops: every kind this release records. */
const DROPPED_KINDS: ReadonlySet<string> = new Set(
    Object.keys({
        schema: true,
        extension: true,
        role: true,
        table: true,
        view: true,
        "materialized view": true,
        index: true,
        sequence: true,
        "foreign table": true,
        type: true,
        domain: true,
        function: true,
        trigger: true,
        policy: true,
        column: true,
        constraint: true,
    } satisfies Record<ObjectKind, true>),
);

/** Records of kinds this release does not know: a newer memory-stack migrated the database, and only it can roll them back. */
export class NewerRecordsError extends Error {
    constructor(readonly records: RecordedObject[]) {
        super(
            `refusing to roll back the memory schema: a newer memory-stack migrated this database and recorded what this release cannot drop: ` +
                `${records.map((record) => `${record.identity} (recorded by ${record.migration})`).join(", ")}. Nothing was dropped. ` +
                "Roll back with the release that migrated it (or a later one).",
        );
        this.name = "NewerRecordsError";
    }
}

/** Ours instead of PostgreSQL's "Use DROP ... CASCADE": cascade would drop the application's object. */
export const DEPENDENT_HINT =
    "the stack never drops with cascade: drop or change the application's object that depends on it (the detail names it), " +
    "or keep the memory schema by not rolling back";

export interface RollbackOptions extends SessionOptions {
    /** sql/rollback.sql (loadRollbackSql); generic, it drops what memory_stack.created_objects records. */
    rollbackSql: string;
    /** Drop recorded tables and memory columns that hold data. Default: false — refuse and drop nothing. */
    allowDataLoss?: boolean;
    /** Fills what the ledger of a release 1 or 2 database does not say when its files are read for adoption. */
    defaults: SchemaOptions;
    /**
     * The Pulumi stack rolling back (null: its state predates stacks being recorded): a database whose ledger names another
     * stack is left as it is (RollbackResult.deployedBy). Undefined: the CLI, which rolls back any database.
     */
    stack?: string | null;
}

export interface RollbackResult {
    /** False when there was nothing to roll back (no ledger and no ownership records), or it is another stack's. */
    rolledBack: boolean;
    /** The stacks that deployed the schema, when not the one rolling back: nothing was dropped. */
    deployedBy?: string[];
    /** Rows each recorded table held when it was dropped ("sessions", or "schema.table" outside public). */
    rowCounts: Record<string, number>;
    /** Non-default values each recorded column on a table the stack did not create held ("users.memory_enabled"). */
    columnCounts: Record<string, number>;
    /** Recorded objects kept because something else depends on them (an extension, schema or role); their records stay. */
    kept: string[];
    /** Other databases of the server that still use a kept role (roles are the server's): why it was kept. */
    keptRolesUsedBy?: string[];
    /** Recorded names someone else created again after the stack's object was dropped: left alone, their records dropped (identity.ts). */
    reused: string[];
    /** Wall time, the waits for locks included. */
    durationMs: number;
    /** How the run waited for locks (included in durationMs). */
    waits: LockWaits;
}

export async function rollbackSchema(client: SqlClient, options: RollbackOptions): Promise<RollbackResult> {
    const statements = await parseSqlFile("rollback.sql", options.rollbackSql);
    const session = new MigrationSession(client, options);
    const started = performance.now();
    return withMigrationLock(session, async () => {
        const found = await client.query<{ found: boolean }>(
            `select to_regclass('${LEDGER_TABLE}') is not null or to_regclass('${OWNERSHIP_TABLE}') is not null
                 or to_regclass('${LEDGER_SCHEMA}.owned_objects') is not null as found`,
        );
        if (!found.rows[0].found) {
            return {
                rolledBack: false,
                rowCounts: {},
                columnCounts: {},
                kept: [],
                reused: [],
                durationMs: performance.now() - started,
                waits: session.waits,
            };
        }
        const outcome = "The rollback was undone: nothing was dropped. Fix the cause and run it again.";
        const result = await boundedTransaction(
            session,
            "the rollback",
            "Nothing was dropped.",
            async () => {
                const ledger = await readLedger(client);
                const others = options.stack === undefined ? [] : otherStacks(ledger, options.stack);
                if (others.length > 0) {
                    return { rolledBack: false, deployedBy: others, rowCounts: {}, columnCounts: {}, kept: [], reused: [] };
                }
                const legacy = legacyRows(ledger);
                if (legacy.length > 0) {
                    await ensureLedger(client);
                    const applied = { ...options.defaults, ...(await recordedOptions(client, ledger)) };
                    await adoptLegacy(client, legacy, renderMigrations(loadMigrationSources(), applied));
                }
                const recorded = await readRecords(client);
                const newer = recorded.filter((record) => !DROPPED_KINDS.has(record.kind));
                if (newer.length > 0) {
                    throw new NewerRecordsError(newer);
                }
                // Not the stack's: left out of the guards and the drops, and their records dropped now, so that even the
                // rollback.sql of an older state (which drops by identity) leaves them alone.
                const reused = reusedRecords(recorded, await snapshot(client), await comparedOrigins(client)).map(
                    (record) => record.identity,
                );
                if (reused.length > 0) {
                    await client.query(`delete from ${OWNERSHIP_TABLE} where identity = any($1)`, [reused]);
                }
                const records = recorded.filter((record) => !reused.includes(record.identity));
                // Locked before counting, so no row can arrive between the guard and the drop; reads wait only from the
                // second lock on, which also keeps out an index or trigger arriving between the dependents check and the drop.
                await lockAtRisk(client, records, "exclusive");
                const counted = await countAtRisk(client, records);
                await lockAtRisk(client, records, "access exclusive");
                const dependents = [
                    ...(await dependentObjects(client, records)),
                    ...(await applicationColumns(client, records)),
                    ...(await attachedParents(client, records)),
                    ...(await subscribedTables(client, records)),
                ];
                if (dependents.length > 0) {
                    throw new DependentObjectsRefusedError(dependents);
                }
                const { rowCounts, columnCounts } = counted;
                if (!options.allowDataLoss && [...Object.values(rowCounts), ...Object.values(columnCounts)].some((n) => n > 0)) {
                    throw new DataLossRefusedError(rowCounts, columnCounts);
                }
                await runStatements(client, "rollback.sql", options.rollbackSql, statements, outcome).catch((error: unknown) => {
                    throw withOurHint(error, outcome);
                });
                const present = await snapshot(client);
                const kept = records.filter((record) => present.has(record.identity));
                const keptRolesUsedBy = await databasesUsingRoles(
                    client,
                    kept.filter((record) => record.kind === "role").map((record) => record.name),
                );
                return { rolledBack: true, rowCounts, columnCounts, kept: kept.map((record) => record.identity), keptRolesUsedBy, reused };
            },
            async () => {
                try {
                    await client.query(`${LOCK_STILL_HELD};\ncommit`);
                } catch (error) {
                    if (!isConnectionLost(error)) {
                        throw lockLostAtRollback(error) ?? error;
                    }
                    const truth = await findOutAfterLostCommit(session, async (fresh) => (await readLedger(fresh)).length === 0);
                    throw new LostCommitError("committing the rollback", truth, {
                        committed: "the ledger is gone: the rollback is done.",
                        rolledBack: "the ledger is still there: the rollback was undone and nothing was dropped. Run it again.",
                        unknown: "whether the rollback happened is unknown. Run `memory-stack status` once the server answers.",
                    });
                }
            },
            "",
            // rollback.sql and the guards are the engine's own statements, with names qualified where they are not pg_catalog's.
            "catalog",
        ).catch(async (error: unknown) => {
            throw (await lostBeforeCommit(client, error)) ?? error;
        });
        return { ...result, durationMs: performance.now() - started, waits: session.waits };
    });
}

/**
 * A connection lost before the rollback's COMMIT (its session terminated while it waited for a lock, counted or
 * checked): PostgreSQL undid the transaction. The driver's words alone ("terminating connection due to administrator
 * command") left the user to guess whether anything was dropped. A lost COMMIT says so itself (LostCommitError), and so
 * does a failure inside rollback.sql (its SqlFileError's outcome).
 */
async function lostBeforeCommit(client: SqlClient, error: unknown): Promise<Error | undefined> {
    if (error instanceof LostCommitError || error instanceof SqlFileError) {
        return undefined;
    }
    const alive = await client.query("select 1").then(
        () => true,
        () => false,
    );
    return alive
        ? undefined
        : new Error(
              `the connection was lost during the rollback (${describeError(error)}), before it committed: PostgreSQL undid it, and nothing was dropped. ` +
                  "Run it again once the server answers.",
              { cause: error },
          );
}

/** A dependency error of rollback.sql, with our hint in place of PostgreSQL's advice to cascade. */
export function withOurHint(error: unknown, outcome: string): unknown {
    if (!(error instanceof SqlFileError) || error.sqlState !== "2BP01") {
        return error;
    }
    const cause = error.cause as { message?: string; detail?: string; where?: string };
    return new SqlFileError(
        error.file,
        error.line,
        error.statement,
        error.sqlState,
        { message: cause.message, code: error.sqlState, detail: cause.detail, where: cause.where, hint: DEPENDENT_HINT },
        outcome,
    );
}
