// Runs a migration that declares steps (steps.ts), resuming from what the step ledger (step-ledger.ts)
// says is done. Every statement that can make the application wait runs under the session's short
// lock_timeout and is retried with backoff until its deadline (bounded.ts), so DDL never queues for
// long in front of the application's queries: a transactional step is retried whole, a batch one batch
// at a time. A `no transaction` step waits for locks up to the deadline instead: create index
// concurrently takes a lock no application statement conflicts with, and it must wait for older
// transactions. What a step creates is recorded as the stack's like any migration's (ownership.ts): a
// transactional step in its own transaction; an index built concurrently before its build starts, so
// a kill mid-build leaves nothing unrecorded. A batched step changes rows, never the schema.
import { performance } from "node:perf_hooks";
import type { QueryResult } from "pg";
import type { SqlClient } from "../db/client";
import { namedBy } from "./appeared";
import { boundedTransaction } from "./bounded";
import { deallocatedByFile, FILE_SAVEPOINT, runFile, runStatement, SqlFileError } from "./execute";
import { dropInvalidLeftover, indexTarget, isSharedMemoryShortage, sizeMaintenanceWorkMem, type MemoryPlan } from "./index-build";
import { ENSURE_LEDGER, OWNERSHIP_TABLE, readLedger, UTF8_SESSION } from "./ledger";
import { lockReleasedBy } from "./lock-held";
import { findOutAfterLostCommit, isConnectionLost, LostCommitError } from "./lost-commit";
import { comparedOrigins, currentOrigin, isReused, REUSED_REASON } from "./identity";
import { ROW_SECURITY_CHECK, rowSecurityApplied } from "./row-security";
import { insertRecords, readRecords, recordCreated, type RecordedObject } from "./ownership";
import type { MemoryMigration } from "./not-the-stacks";
import type { MigrationFile } from "./plan";
import type { SchemaOptions } from "./render";
import type { MigrationSession } from "./session";
import { SEARCH_PATH, SET_LOCAL_SEARCH_PATH } from "./search-path";
import {
    carriedIn,
    type Catalog,
    catalogIn,
    catalogReads,
    committedSinceStatement,
    ownXidsIn,
    statementOf,
    readAfter,
    readAfterStatement,
    refuseClientEncoding,
    resultWith,
    snapshot,
    snapshotStatement,
} from "./snapshot";
import {
    ENSURE_STEP_LEDGER,
    finishMigrationStatement,
    readStepLedger,
    recordStepStatement,
    STEP_LEDGER_EXISTS,
    type StepRow,
} from "./step-ledger";
import { CHECK_CLIENT, CHECK_CLIENT_IN_TRANSACTION, withSessionSettings } from "./step-session";
import { parameters, type Step, type StepKind } from "./steps";
import type { Statement } from "./statements";

export const DEFAULT_MAINTENANCE_WORK_MEM_MB = 1024;

export interface StepOptions {
    /** Upper bound of maintenance_work_mem for an index build (config migration.maintenanceWorkMemMb). Default: 1024. */
    maintenanceWorkMemMb?: number;
    /** Progress: steps done, rows done of a batched step, index memory (lock waits go to the session's onWait). */
    onEvent?: (event: StepEvent) => void;
}

interface Where {
    migration: string;
    step: string;
}

export type StepEvent =
    | (Where & {
          type: "step";
          kind: StepKind;
          index: number;
          total: number;
          durationMs: number;
          outcome: "done" | "nothing to do" | "done before";
      })
    | (Where & { type: "rows"; done: number; total: number | undefined })
    | (Where & { type: "index memory"; index: string } & MemoryPlan)
    | (Where & { type: "invalid index dropped"; index: string })
    | (Where & { type: "serial index build"; index: string; reason: string });

interface Run {
    session: MigrationSession;
    client: SqlClient;
    migration: MigrationFile;
    steps: readonly Step[];
    variant: string;
    /** Recorded in the ledger with the migration. */
    schema: SchemaOptions | undefined;
    /** The Pulumi stack applying, recorded in the ledger with the migration; undefined: the CLI. */
    stack?: string;
    /** False for a re-run (repair): the ledger is not written. */
    ledger: boolean;
    /** RecordOptions.memory: the memory schema's migrations (an apply's with its options, and every re-run, as repair's plain ones). */
    memory: MemoryMigration | undefined;
    /** The ownership records as they stand, when known (read from the table otherwise). */
    recorded: RecordedObject[] | undefined;
    /** The migration ledger is known to be there in today's shape: a transaction that made it so where needed committed. */
    ledgersReady: boolean;
    /** Whether the step ledger exists (asked with the run's first begin; created with the first row written to it). */
    stepLedger: boolean | undefined;
    /** The rows of steps that changed nothing, not written yet: they go with the next write to the step ledger. */
    deferred: StepRow[];
    /**
     * The catalog as the run's last transaction that read it left it (a transactional step's, or the migration's before
     * these steps), and the xids this session committed under since (OWN_XIDS): the next transactional step reads the
     * catalog anew only when another transaction committed since (committedSinceStatement). Undefined: read anew.
     */
    catalog: Catalog | undefined;
    ours: string[];
    lockTimeoutMs: number;
    lockDeadlineMs: number;
    maintenanceWorkMemMb: number;
    emit(event: StepEvent): void;
}

export interface ApplyStepsOptions {
    variant: string;
    schema?: SchemaOptions;
    /** The Pulumi stack applying, written on the migration's ledger row (deployed-by.ts); undefined: the CLI. */
    stack?: string;
    /** The step ledger as read under the migration lock. */
    done: readonly StepRow[];
    steps?: StepOptions;
    /** The ownership records as they stand, when the caller knows them. */
    recorded?: RecordedObject[];
    /** The catalog the run's previous migration left after its statements, in this session, and the xids it committed under (OWN_XIDS). */
    catalog?: Catalog;
    ours?: string[];
    /** The migration ledger is in today's shape: a migration of this run committed (its begin need not check). */
    ledgerCurrent?: boolean;
}

/**
 * Applies the steps the ledger does not list as done, in order; the migration is recorded with its last step.
 * Returns the ownership records as the steps left them, when known.
 */
export async function applySteps(
    session: MigrationSession,
    migration: MigrationFile,
    steps: Step[],
    options: ApplyStepsOptions,
): Promise<RecordedObject[] | undefined> {
    const rows = new Map(
        options.done.filter((row) => row.migration === migration.name && row.checksum === migration.checksum).map((row) => [row.step, row]),
    );
    const run = runFor(session, migration, steps, options.variant, options.schema, true, options.steps, options.recorded);
    // Rows there: the step ledger exists. None: it may not, and the first begin asks.
    run.stepLedger = options.done.length > 0 ? true : undefined;
    run.ledgersReady = options.ledgerCurrent === true;
    run.stack = options.stack;
    if (options.catalog?.mark !== undefined && options.ours !== undefined) {
        Object.assign(run, { catalog: options.catalog, ours: [...options.ours] });
    }
    await runSteps(run, rows);
    return run.recorded;
}

/** Runs every step of an applied migration again, without the ledger: repair re-creating what is missing, and the SQL tests. */
export async function rerunSteps(
    session: MigrationSession,
    migration: MigrationFile,
    steps: Step[],
    options: StepOptions = {},
): Promise<void> {
    await runSteps(runFor(session, migration, steps, "", undefined, false, options), new Map());
}

function runFor(
    session: MigrationSession,
    migration: MigrationFile,
    steps: Step[],
    variant: string,
    schema: SchemaOptions | undefined,
    ledger: boolean,
    options: StepOptions = {},
    recorded?: RecordedObject[],
): Run {
    return {
        session,
        client: session.client,
        migration,
        steps,
        variant,
        schema,
        ledger,
        memory: schema !== undefined || !ledger ? { sql: migration.sql, session } : undefined,
        ledgersReady: false,
        stepLedger: undefined,
        deferred: [],
        catalog: undefined,
        ours: [],
        recorded,
        lockTimeoutMs: session.locks.timeoutMs,
        lockDeadlineMs: session.locks.deadlineSeconds * 1000,
        maintenanceWorkMemMb: options.maintenanceWorkMemMb ?? DEFAULT_MAINTENANCE_WORK_MEM_MB,
        emit: options.onEvent ?? (() => undefined),
    };
}

async function runSteps(run: Run, done: Map<string, StepRow>): Promise<void> {
    const { steps } = run;
    for (const [index, step] of steps.entries()) {
        const stepStarted = performance.now();
        const row = done.get(step.name);
        const where = { migration: run.migration.name, step: step.name };
        let outcome: "done" | "nothing to do" | "done before" = "done before";
        if (!row?.finished) {
            const last = index === steps.length - 1;
            // A step's row may wait for the next step's transaction only when that step runs in transactions: a `no
            // transaction` step's statements commit on their own, and the step before must be recorded by then.
            const deferrable = !last && steps[index + 1].kind !== "no transaction";
            outcome =
                step.kind === "transaction"
                    ? await transactionStep(run, step, last)
                    : step.kind === "batched"
                      ? await batchedStep(run, step, last, row, deferrable)
                      : await looseStep(run, step, last);
        }
        const durationMs = performance.now() - stepStarted;
        run.emit({ type: "step", ...where, kind: step.kind, index: index + 1, total: steps.length, durationMs, outcome });
    }
}

async function transactionStep(run: Run, step: Step, last: boolean): Promise<"done"> {
    const started = performance.now();
    // The catalog read before the statements and their savepoint go with the begin, as a plain migration's do
    // (apply-pending.ts), after the ledgers' DDL when it is needed (retryingTransaction). After a transaction that read
    // the catalog in this run, that read is only a check: whether a transaction other than this session's committed since.
    const prepared = snapshotStatement(run.client);
    // (Kept only where this session's catalog read is prepared: the read after the statements needs it.)
    const carried = prepared ? run.catalog : undefined;
    const read = carried ? catalogReads([committedSinceStatement(carried.mark!, run.ours, true, run.client)]) : prepared;
    run.recorded = await retryingTransaction(
        run,
        step,
        last,
        async (begun) => {
            const before = !read
                ? await snapshot(run.client)
                : carried
                  ? (carriedIn(begun, carried) ?? (await snapshot(run.client)))
                  : catalogIn(begun);
            // The statements in one round trip, with the catalog after them and whether another transaction committed meanwhile.
            const after = await runFile(run.client, run.migration.name, run.migration.sql, step.statements, outcome(run, step), {
                savepointTaken: Boolean(read),
                text: step.statements.map((statement) => statement.text).join("\n;\n"),
                then: [readAfterStatement(run.client, before)],
            });
            // As a plain migration's file (apply-pending.ts): one that changed client_encoding is refused before its names are used.
            const encodingChecked = refuseClientEncoding(after, run.migration.name, outcome(run, step));
            const change = await recordCreated(run.client, run.migration.name, before, {
                connect: run.session.connect,
                observer: run.session.checker,
                named: run.schema && namedBy(run.schema),
                memory: run.memory,
                outcome: outcome(run, step),
                recorded: run.recorded,
                since: carried,
                ...readAfter(after),
                deferWrites: true,
            }).catch((error: unknown) => {
                throw deallocatedByFile(error, run.migration.name, outcome(run, step)) ?? error;
            });
            // The records' writes go with the COMMIT, in ASCII literals; when the statements had to run again one by one, after
            // the server's check that they left client_encoding as it was (the catalog after them was read in it).
            return {
                value: change.recorded,
                write: [...(encodingChecked ? [] : [UTF8_SESSION]), change.writes].filter(Boolean).join(";\n"),
                ledger: doneStatement(run, step, last, performance.now() - started, 0),
                after: change.after,
            };
        },
        read ? `${FILE_SAVEPOINT}; ${read}` : "",
    );
    return "done";
}

async function looseStep(run: Run, step: Step, last: boolean): Promise<"done" | "nothing to do"> {
    const started = performance.now();
    // An index build records its index ahead (recordIndexAhead): the records are read anew after it, and the catalog,
    // which its statements change outside any transaction.
    run.recorded = undefined;
    run.catalog = undefined;
    // statement_timeout is for the application's queries; an index build on a big table may outlast it.
    const todo = await withSessionSettings(
        run.client,
        { lock_timeout: `${run.lockDeadlineMs}ms`, statement_timeout: "0", search_path: undefined, ...CHECK_CLIENT },
        async () => {
            // The engine's search_path for the statements, which run outside a transaction (each transaction sets its own: bounded.ts).
            await run.client.query(`select pg_catalog.set_config('search_path', ${SEARCH_PATH}, false)`);
            if (step.guard && guardSays(step, (await run1(run, step, step.guard)).rows) === 0) {
                return false;
            }
            for (const statement of step.statements) {
                await looseStatement(run, step, statement);
            }
            return true;
        },
    );
    await retryingTransaction(run, step, last, async () => ({
        value: undefined,
        ledger: doneStatement(run, step, last, performance.now() - started, 0),
    }));
    return todo ? "done" : "nothing to do";
}

async function looseStatement(run: Run, step: Step, statement: Statement): Promise<void> {
    const target = indexTarget(statement);
    if (target === undefined) {
        await run1(run, step, statement);
        return;
    }
    const where = { migration: run.migration.name, step: step.name };
    const index = target.name ?? "the index";
    const recorded = await recordIndexAhead(run, step, statement);
    await withSessionSettings(run.client, { maintenance_work_mem: undefined, max_parallel_maintenance_workers: undefined }, async () => {
        const dropped = await dropInvalidLeftover(run.client, target);
        if (dropped) run.emit({ type: "invalid index dropped", ...where, index: dropped });
        const memory = await sizeMaintenanceWorkMem(run.client, target, run.maintenanceWorkMemMb);
        if (memory) run.emit({ type: "index memory", ...where, index, ...memory });
        try {
            await run1(run, step, statement);
        } catch (error) {
            if (!isSharedMemoryShortage(error)) throw error;
            run.emit({ type: "serial index build", ...where, index, reason: (error as Error).message.split("\n")[0] });
            await dropInvalidLeftover(run.client, target);
            await run.client.query("select set_config('max_parallel_maintenance_workers', '0', false)");
            await run1(run, step, statement);
        }
    });
    if (recorded !== undefined) {
        // Built (or found there, recorded and not reused): the record gets the index's oid (identity.ts).
        await run.client.query(
            `update ${OWNERSHIP_TABLE} set oid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', schema_name, name))::oid, origin = $2 where identity = $1`,
            [recorded, await currentOrigin(run.client)],
        );
    }
}

async function batchedStep(
    run: Run,
    step: Step,
    last: boolean,
    row: StepRow | undefined,
    deferrable: boolean,
): Promise<"done" | "nothing to do"> {
    const where = { migration: run.migration.name, step: step.name };
    const [batch] = step.statements;
    // $1 the last key done, $2 the rows wanted in this batch (when the statement uses them); found once a batch runs.
    let values: ("key" | "size")[] | undefined;
    // The guard goes with the first batch's begin; what it says is known once that batch's transaction began.
    let guard = step.guard;
    let total: number | undefined;
    let key = row?.cursor ?? null;
    let done = row?.rowsDone ?? 0;
    let size = FIRST_BATCH;
    for (;;) {
        let started = performance.now();
        const result = await guardedBatch(run, step, last, guard, async (begun) => {
            started = performance.now();
            if (guard) {
                total = guardSays(step, begun[begun.length - 1].rows);
                if (total === 0) {
                    return { value: undefined, ...finishBatches(run, step, last, 0, done, row === undefined && deferrable) };
                }
            }
            values ??= parameters(batch).map((number) => (number === 1 ? "key" : "size"));
            const { rows, fields } = await run1(
                run,
                step,
                batch,
                values.length === 0 ? undefined : values.map((value) => (value === "key" ? key : size)),
            );
            const next = rows.length === 0 ? key : keyText(step, rows[rows.length - 1][fields[0].name]);
            const rowsDone = done + rows.length;
            const durationMs = performance.now() - started;
            const value = { handled: rows.length, next, rowsDone };
            if (rows.length === 0) {
                return {
                    value,
                    ...finishBatches(run, step, last, durationMs, rowsDone, row === undefined && rowsDone === 0 && deferrable),
                };
            }
            return { value, ledger: stepRows(run, { ...ledgerKey(run, step), rowsDone, cursor: next, finished: false, durationMs }) };
        });
        guard = undefined;
        if (result === undefined) {
            return "nothing to do";
        }
        if (result.handled === 0) {
            return "done";
        }
        size = nextBatchSize(size, performance.now() - started, run.lockTimeoutMs / 5);
        key = result.next;
        done = result.rowsDone;
        // Rows the application inserts after the count are converted too: the total grows with them.
        run.emit({ type: "rows", ...where, done, total: total === undefined ? undefined : Math.max(total, done) });
    }
}

/**
 * A batch's transaction, its begin carrying `guard` when given. When that begin fails, the guard is asked again in a
 * transaction of its own (askGuard), so that a failing guard is reported as the step's statement that failed.
 */
async function guardedBatch<T>(
    run: Run,
    step: Step,
    last: boolean,
    guard: Statement | undefined,
    work: (begun: QueryResult[]) => Promise<Finished<T>>,
): Promise<T> {
    let begun = false;
    try {
        return await retryingTransaction(
            run,
            step,
            last,
            (results) => {
                begun = true;
                return work(results);
            },
            guard?.text ?? "",
        );
    } catch (error) {
        // Refused by the server before the batch ran: its begin, or the guard in it.
        if (guard && !begun && !isConnectionLost(error)) {
            await askGuard(run, step, guard);
        }
        throw error;
    }
}

const FIRST_BATCH = 100;
const MOST_BATCH = 10_000;

/**
 * Rows for the next batch: scaled so that a batch takes about `targetMs` (a fifth of lock_timeout), at
 * most doubling each time. A batch holds its rows' locks until it commits, so an application update
 * of one of them waits that long at most, whatever the machine, the load and the width of the rows.
 */
export function nextBatchSize(size: number, tookMs: number, targetMs: number): number {
    const scaled = Math.round((size * targetMs) / Math.max(tookMs, 1));
    return Math.max(1, Math.min(MOST_BATCH, 2 * size, scaled));
}

/**
 * A batched step's last transaction: its ledger write, or, when the step changed nothing and `deferrable`, its row left
 * for the next step's write (Run.deferred).
 */
function finishBatches(
    run: Run,
    step: Step,
    last: boolean,
    durationMs: number,
    rowsDone: number,
    unchanged: boolean,
): Pick<Finished<unknown>, "ledger" | "defer"> {
    if (unchanged && run.ledger) {
        return { defer: { ...ledgerKey(run, step), rowsDone, cursor: null, finished: true, durationMs } };
    }
    return { ledger: doneStatement(run, step, last, durationMs, rowsDone) };
}

/** The ledger write that records the step as done, or the whole migration when it is the last step; none without the ledger. */
function doneStatement(run: Run, step: Step, last: boolean, durationMs: number, rowsDone: number): LedgerWrite | undefined {
    if (!run.ledger) return undefined;
    if (!last) {
        return stepRows(run, { ...ledgerKey(run, step), rowsDone, cursor: null, finished: true, durationMs });
    }
    // The rows waiting (Run.deferred) would go with it: only their durations are kept.
    const waited = run.deferred.reduce((sum, row) => sum + row.durationMs, 0);
    const steps = run.stepLedger !== false;
    return { text: finishMigrationStatement(run.migration, run.variant, run.schema, durationMs + waited, steps, run.stack), steps };
}

/** A step's row, after the rows waiting for a write (Run.deferred); none without the ledger. */
function stepRows(run: Run, row: StepRow): LedgerWrite | undefined {
    if (!run.ledger) return undefined;
    return { text: [...run.deferred, row].map(recordStepStatement).join(";\n"), steps: true };
}

function ledgerKey(run: Run, step: Step) {
    return { migration: run.migration.name, step: step.name, checksum: run.migration.checksum, variant: run.variant };
}

/** A write to the ledgers; `steps`: to the step ledger, which is created with it where missing. */
interface LedgerWrite {
    text: string;
    steps: boolean;
}

/** What a step's transaction returns, and its writes, sent with the COMMIT in one round trip: `write` first, then `ledger`. */
interface Finished<T> {
    value: T;
    write?: string;
    ledger?: LedgerWrite;
    /** The step's row, for the next write to the step ledger (Run.deferred) once this transaction committed. */
    defer?: StepRow;
    /** The catalog after the statements of a transactional step: the run's catalog once it committed (Run.catalog). */
    after?: Catalog;
}

/**
 * The step's transaction under the session's lock_timeout, retried until the deadline (bounded.ts); its writes go with
 * the COMMIT. Until one has committed, each begins by bringing the migration ledger to today's shape where needed, in its
 * begin's round trip, and the first asks whether the step ledger exists: it is created with the first row written to it.
 * A connection lost at its COMMIT is answered by reading the ledgers on a new connection.
 */
async function retryingTransaction<T>(
    run: Run,
    step: Step,
    last: boolean,
    work: (begun: QueryResult[]) => Promise<Finished<T>>,
    atBegin = "",
): Promise<T> {
    const { client, migration } = run;
    const what = `${migration.name} step ${step.name}`;
    // In the step's transaction, like a plain migration's ledger: a first step that fails leaves no trace.
    const ensure = run.ledger && !run.ledgersReady;
    const ask = run.ledger && run.stepLedger === undefined;
    let finished: Finished<T> | undefined;
    return boundedTransaction(
        run.session,
        what,
        outcome(run, step),
        async (begun) => {
            if (ask) {
                run.stepLedger = (
                    resultWith(begun, "memory_stack_step_ledger")?.rows[0] as { memory_stack_step_ledger: boolean }
                ).memory_stack_step_ledger;
            }
            finished = await work(begun);
            return finished.value;
        },
        async () => {
            const { write, ledger, defer, after } = finished ?? {};
            const ensureSteps = ledger?.steps === true && run.stepLedger !== true;
            // This transaction's xids, while the run keeps a catalog: its commit is not another session's (Run.catalog). The last
            // step's catalog is kept by no one, and a transaction that changed nothing (its row deferred, no ledger made) has none;
            // should it have one after all, the next catalog check counts that commit as another's and reads the catalog anew.
            const unchanged = defer !== undefined && !ledger && !ensure;
            const xids =
                last || unchanged
                    ? undefined
                    : after !== undefined
                      ? statementOf(client, "own_xids")
                      : run.catalog !== undefined
                        ? OWN_XID
                        : undefined;
            const commit = [
                ensureSteps ? ENSURE_STEP_LEDGER : undefined,
                write,
                ledger?.text,
                xids,
                ROW_SECURITY_CHECK,
                statementOf(client, "lock_held"),
                "commit",
            ]
                .filter(Boolean)
                .join(";\n");
            try {
                const results = (await client.query(commit)) as unknown as QueryResult[];
                const committed = xids ? ownXidsIn(results) : last ? undefined : [];
                run.ledgersReady ||= ensure;
                run.stepLedger ||= ensureSteps;
                if (ledger) run.deferred = [];
                if (defer) run.deferred.push(defer);
                keepCatalog(run, after, committed);
            } catch (error) {
                if (!isConnectionLost(error)) {
                    const hidden = rowSecurityApplied(error, what, outcome(run, step));
                    if (hidden) {
                        throw hidden;
                    }
                    const released = lockReleasedBy(error, what, outcome(run, step));
                    if (released) {
                        throw released;
                    }
                    // Deferred constraints fail at commit; that is still this step's failure.
                    throw new SqlFileError(migration.name, step.line, commit, (error as { code?: string }).code, error, outcome(run, step));
                }
                if (!run.ledger) {
                    throw error;
                }
                if (defer) {
                    // Nothing to lose: the transaction changed nothing and wrote no row. The new connection still sees the lost
                    // session gone (and its migration lock with it) before the next apply.
                    throw new LostCommitError(`committing ${what}`, await findOutAfterLostCommit(run.session, async () => true), {
                        committed: `${what} changed nothing, so nothing was lost; it runs again (and finds nothing) before the next step. Run apply again to continue.`,
                        rolledBack: "",
                        unknown: `${what} changed nothing, so nothing was lost. Run apply again once the server answers.`,
                    });
                }
                const truth = await findOutAfterLostCommit(run.session, async (fresh) =>
                    last
                        ? (await readLedger(fresh)).some((row) => row.name === migration.name)
                        : (await readStepLedger(fresh)).some((row) => row.migration === migration.name && row.step === step.name),
                );
                throw new LostCommitError(`committing ${what}`, truth, {
                    committed: `${what} is done. Run apply again to continue from the next step.`,
                    rolledBack: `${outcome(run, step)}`,
                    unknown: `whether ${what} was done is unknown. Run \`memory-stack status\` once the server answers.`,
                });
            }
        },
        [
            ...(ensure ? [ENSURE_LEDGER] : []),
            ...(ask ? [STEP_LEDGER_EXISTS] : []),
            CHECK_CLIENT_IN_TRANSACTION,
            ...(atBegin ? [atBegin] : []),
        ].join(";\n"),
    );
}

/**
 * OWN_XIDS for a transaction that holds no savepoint (a batch's, a ledger write's): its own xid, if it has one (a batch
 * that wrote nothing has none), without reading pg_locks.
 */
const OWN_XID = "select pg_catalog.array_remove(array[pg_catalog.pg_current_xact_id_if_assigned()::pg_catalog.text], null) as ours";

/**
 * The run's catalog after a transaction committed under the xids `committed` (undefined: not known, read anew): a
 * transactional step's catalog after its statements, or the one the run kept, with the xids of this batch's transaction
 * added. A batch changes rows, never the schema, but the first write to the step ledger creates it where missing, after
 * any catalog read of its transaction: its objects are then missing from the catalog kept, and appear in the next catalog
 * read as made by an earlier transaction, which recordCreated never takes for a migration's, as when the catalog before
 * has them (no migration changes the ledgers).
 */
function keepCatalog(run: Run, after: Catalog | undefined, committed: string[] | undefined): void {
    if (committed === undefined) {
        run.catalog = undefined;
    } else if (after !== undefined) {
        Object.assign(run, { catalog: after, ours: committed });
    } else if (run.catalog !== undefined) {
        run.ours.push(...committed);
    }
}

/**
 * A concurrent index build is recorded as the stack's before it starts, in a short transaction of its
 * own: a kill mid-build then leaves a recorded (maybe invalid) index that the next run builds again or a
 * rollback drops, never an unrecorded one. A same-named index that is not the stack's stops the step.
 */
async function recordIndexAhead(run: Run, step: Step, statement: Statement): Promise<string | undefined> {
    const relation = (statement.node.relation ?? {}) as { schemaname?: string };
    const name = typeof statement.node.idxname === "string" ? statement.node.idxname : undefined;
    if (!run.ledger && name === undefined) {
        return undefined;
    }
    if (name === undefined) {
        throw new Error(
            `${run.migration.name} step ${step.name} (line ${statement.line}): a concurrent index build must name its index, so it can be recorded as the stack's`,
        );
    }
    return retryingTransaction(run, step, false, async () => {
        const found = await run.client.query<{
            identity: string;
            schema: string;
            parent: string | null;
            exists: boolean;
            oid: string | null;
        }>(
            `select 'index ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident($1) as identity, n.nspname as schema,
                    (select c.relname from pg_class c where c.oid operator(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.format('%I.%I', n.nspname, $1))::pg_catalog.oid) is not null as exists,
                    pg_catalog.to_regclass(pg_catalog.format('%I.%I', n.nspname, $1))::oid::bigint as oid,
                    (select t.relname from pg_index x join pg_class t on t.oid = x.indrelid where x.indexrelid operator(pg_catalog.=) pg_catalog.to_regclass(pg_catalog.format('%I.%I', n.nspname, $1))::pg_catalog.oid) as parent
               from pg_namespace n where n.nspname = coalesce($2, pg_catalog.current_schema())`,
            [name, relation.schemaname ?? null],
        );
        const [target] = found.rows;
        if (target === undefined) {
            return { value: undefined }; // the schema does not exist: the build itself will say so
        }
        const record = (await readRecords(run.client)).find((candidate) => candidate.identity === target.identity);
        if (record !== undefined && isReused(record, target.oid === null ? null : Number(target.oid), await comparedOrigins(run.client))) {
            throw new Error(
                `${run.migration.name} step ${step.name}: ${target.identity} is not the stack's: it was ${REUSED_REASON}; nothing was built. ` +
                    "Rename or drop that index, then apply again.",
            );
        }
        if (record !== undefined) {
            // The stack's already: this later definition is the one repair re-runs to re-create it.
            if (record.migration !== run.migration.name) {
                await run.client.query(`update ${OWNERSHIP_TABLE} set migration = $1 where identity = $2`, [
                    run.migration.name,
                    target.identity,
                ]);
            }
            return { value: target.identity };
        }
        if (target.exists) {
            throw new Error(
                `${run.migration.name} step ${step.name}: ${target.identity} exists and is not the stack's; nothing was built. ` +
                    "Rename or drop that index, then apply again.",
            );
        }
        const table = (statement.node.relation as { relname: string }).relname;
        await insertRecords(
            run.client,
            run.migration.name,
            [{ identity: target.identity, kind: "index", schema: target.schema, name, parent: table, arguments: null }],
            false,
        );
        return { value: target.identity };
    });
}

function run1(run: Run, step: Step, statement: Statement, values?: unknown[]) {
    return runStatement(run.client, run.migration.name, run.migration.sql, statement, outcome(run, step), values);
}

function outcome(run: Run, step: Step): string {
    const name = `${run.migration.name} step ${step.name}`;
    if (!run.ledger) {
        return `${name} was re-run to re-create missing objects and stopped; its statements are safe to run again.`;
    }
    const first = step === run.steps[0];
    const kept = first
        ? `nothing else of ${run.migration.name} was applied`
        : "the steps before it stay done (memory_stack.migration_steps)";
    const stopped = {
        transaction: `${name} was rolled back; ${kept}.`,
        batched: `${name} rolled back its last batch only: the batches before it stay done, and ${first ? "no other step ran" : "so do the steps before it"}.`,
        "no transaction": `${name} stopped (its statements are safe to run again); ${kept}.`,
    }[step.kind];
    // Their rows were to go with this step's (Run.deferred).
    const waiting = run.deferred.map((row) => row.step);
    const again =
        waiting.length === 0
            ? ""
            : ` ${waiting.join(" and ")} found nothing to do and ${waiting.length === 1 ? "looks" : "look"} again first.`;
    return `${stopped}${again} Fix the cause and apply again to resume.`;
}

/** The guard asked alone, in a transaction of its own whose lock waits last up to the deadline: tells a failing guard from a failing begin (guardedBatch). */
async function askGuard(run: Run, step: Step, guard: Statement): Promise<number> {
    let results: QueryResult[];
    try {
        results = (await run.client.query(
            `begin; set local lock_timeout = ${Math.round(run.lockDeadlineMs)}; ${CHECK_CLIENT_IN_TRANSACTION}; ${SET_LOCAL_SEARCH_PATH};\n${guard.text}\n;\ncommit`,
        )) as unknown as QueryResult[];
    } catch (error) {
        await run.client.query("rollback").catch(() => undefined);
        throw new SqlFileError(run.migration.name, guard.line, guard.text, (error as { code?: string }).code, error, outcome(run, step));
    }
    return guardSays(step, results[results.length - 2].rows);
}

/** The guard's one value as a number: 0 for false or null. */
function guardSays(step: Step, rows: Record<string, unknown>[]): number {
    const value = rows.length === 0 ? null : Object.values(rows[0])[0];
    const number = value === null || value === undefined ? 0 : Number(value);
    if (!Number.isFinite(number)) {
        throw new Error(
            `step ${step.name} (line ${step.line}): its leading select returned ${JSON.stringify(value)}; it must return a number (rows to do) or a boolean`,
        );
    }
    return number;
}

function keyText(step: Step, value: unknown): string {
    if (typeof value === "string" || typeof value === "number" || typeof value === "bigint") {
        return String(value);
    }
    throw new Error(
        `batched step ${step.name} (line ${step.line}): the batch's first column must be the key it handled (uuid, integer or text; cast with ::text), not ${JSON.stringify(value)}`,
    );
}
