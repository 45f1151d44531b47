// The part of an apply that has something to do, loaded only then (apply.ts): every pending file parsed
// before the first runs, the preflight (after recording what an earlier release created), then each
// migration in its own transaction — its statements, the objects they created and its ledger row — or
// step by step (step-runner.ts) for a migration that declares steps.
import { performance } from "node:perf_hooks";
import { namedBy } from "./appeared";
import type { ApplyOptions, ApplyResult } from "./apply";
import { boundedTransaction } from "./bounded";
import { deallocatedByFile, FILE_SAVEPOINT, parseSqlFile, runFile, SqlFileError } from "./execute";
import { adoptLegacy } from "./legacy";
import { ENSURE_LEDGER, ensureLedger, ledgerInsert, legacyRows, readLedger, UTF8_SESSION, type LedgerRow } from "./ledger";
import { findOutAfterLostCommit, isConnectionLost, LostCommitError } from "./lost-commit";
import { lockReleasedBy } from "./lock-held";
import { noteOrigin, ORIGIN_WITH_LEDGER_SQL, type Origins } from "./identity";
import { readRecords, recordCreated, type RecordedObject } from "./ownership";
import type { MigrationFile } from "./plan";
import { preflight, PreflightRefusedError } from "./preflight";
import { encodingConflicts } from "./preflight-encoding";
import {
    carriedCheckStatement,
    carriedIn,
    Catalog,
    catalogReads,
    checkedFirstIn,
    catalogIn,
    committedSinceStatement,
    isCatalogMoved,
    noteShape,
    ownXidsIn,
    statementOf,
    readAfter,
    readAfterStatement,
    refuseClientEncoding,
    resultWith,
    SET_SESSION_CATALOG_PATH,
    SHAPE_READ,
    snapshot,
    snapshotStatement,
} from "./snapshot";
import type { MigrationSession } from "./session";
import { lineAt, type Statement } from "./statements";
import type { StepRow } from "./step-ledger";
import { applySteps } from "./step-runner";
import { declaredSteps } from "./steps";

/** Applies `pending` under the caller's migration lock; returns what it applied and the records as they stand (undefined: read them anew). */
export async function applyPending(
    session: MigrationSession,
    migrations: MigrationFile[],
    pending: MigrationFile[],
    ledger: LedgerRow[],
    stepLedger: StepRow[],
    options: ApplyOptions,
    /** Whether the ownership table existed when the ledgers were read, under the same lock. */
    recordsTable: boolean,
): Promise<{ applied: ApplyResult["applied"]; recorded: RecordedObject[] | undefined; recordedBefore: RecordedObject[] | undefined }> {
    const { client } = session;
    // Every pending file parsed before the first runs: a malformed one fails with nothing applied. Only
    // the pending ones, so a no-op apply loads no SQL parser.
    const parsed = new Map(
        await Promise.all(pending.map(async (migration) => [migration.name, await parseSqlFile(migration.name, migration.sql)] as const)),
    );
    const known: RunState = { catalog: undefined, ours: undefined, recorded: undefined, ledgerCurrent: false, busy: false };
    const legacy = legacyRows(ledger);
    const unencodable = await encodingConflicts(
        client,
        pending.map((migration) => ({ name: migration.name, statements: parsed.get(migration.name)! })),
    );
    const check = async () => {
        // Adopting an earlier release's rows (below) creates the ownership table first.
        known.recorded = pending.length > 0 ? await readRecords(client, legacy.length > 0 ? undefined : recordsTable) : undefined;
        const conflicts = [
            ...(known.recorded && options.schema ? await preflight(client, options.schema, known.recorded) : []),
            ...unencodable,
        ];
        if (conflicts.length > 0) {
            throw new PreflightRefusedError(conflicts);
        }
    };
    if (legacy.length > 0) {
        // What an earlier release created is recorded first, and only kept when the preflight passes.
        await boundedTransaction(
            session,
            "recording what an earlier memory-stack created",
            "Nothing was changed.",
            async () => {
                await ensureLedger(client);
                await adoptLegacy(client, legacy, migrations);
                await check();
            },
            undefined,
            "",
            "catalog",
        );
    } else {
        await check();
    }
    const recordedBefore = known.recorded;
    const applied: ApplyResult["applied"] = [];
    for (const [position, migration] of pending.entries()) {
        const before = applied.map((item) => item.name);
        const statements = parsed.get(migration.name)!;
        const steps = declaredSteps(migration.name, migration.sql, statements);
        const migrationStarted = performance.now();
        if (steps) {
            const recorded = await applySteps(session, migration, steps, {
                ...options,
                done: stepLedger,
                recorded: known.recorded,
                catalog: known.catalog,
                ours: known.ours,
                ledgerCurrent: known.ledgerCurrent,
            });
            // Its steps stand on the catalog the previous migration left when nothing else committed since (step-runner.ts), and
            // say what they left recorded when they know; the next migration reads the catalog anew.
            Object.assign(known, { catalog: undefined, ours: undefined, recorded, ledgerCurrent: true });
        } else {
            await applyOne(session, migration, statements, options, before, known);
        }
        const durationMs = performance.now() - migrationStarted;
        applied.push({ name: migration.name, durationMs });
        options.onProgress?.({ name: migration.name, durationMs, index: position + 1, total: pending.length });
    }
    return { applied, recorded: known.recorded, recordedBefore };
}

// What one run knows between its migrations, all of them applied under its migration lock: the catalog
// the last one left and the xids it committed under (so the next one can tell what another session
// made in between, and need not read the catalog before its statements when nothing), the records as
// they stand, and whether the ledger is in today's shape.
interface RunState {
    /** Undefined: no migration of this run before it, or one whose steps read the catalog for themselves. */
    catalog: Catalog | undefined;
    /** The last migration's xids (OWN_XIDS, read just before its commit). */
    ours: string[] | undefined;
    /** Undefined: read them from the ownership table. */
    recorded: RecordedObject[] | undefined;
    ledgerCurrent: boolean;
    /**
     * Another transaction committed between two migrations of this run: the server is busy, and each later migration checks with
     * its begin, in a round trip of its own, rather than failing its file's query (and writing that ERROR to the server's log).
     */
    busy: boolean;
}

// Sent with each migration's commit: the session's search_path, for the rest of the run, back to pg_catalog's (lock.ts), whatever
// the file set for the session. A path with public before pg_catalog would have the engine's next statements outside the file run
// a function a role that may create in public planted there.
const SESSION_PATH = `select ${SET_SESSION_CATALOG_PATH}`;

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
    // With the ledger in place, the file's savepoint and the catalog read before the statements go with the begin. After an
    // earlier migration of this run, that read is only a check: whether another transaction committed since that migration
    // read the catalog after its statements. While none did in this run, the begin and the check go in the file's own round
    // trip, and a check that finds another commit fails the query before the file's statements run: the catalog is read anew
    // from the file's savepoint, then the file runs. Once one did (a busy server), the check goes with the begin, as the read
    // itself would. The run's first migration creates the ledger when needed, with its begin (in its transaction: a first
    // migration that fails leaves no trace at all), and prepares the read (snapshot()).
    const carried = known.ledgerCurrent && known.catalog?.mark !== undefined ? known.catalog : undefined;
    const combined = carried !== undefined && !known.busy;
    const first = !known.ledgerCurrent;
    // No read goes with the begin either before the session's first catalog read has prepared it (after a run's first migration
    // whose steps read none: `no transaction` and batched steps alone): it then goes in the transaction, as the first migration's.
    const readAtBegin = first
        ? undefined
        : carried
          ? combined
              ? carriedCheckStatement(client, carried, known.ours)
              : catalogReads([committedSinceStatement(carried.mark!, known.ours, true, client)])
          : snapshotStatement(client);
    // The first also asks, in that round trip, what its catalog read is prepared for and where oids mean something.
    const atBegin = first
        ? `${ENSURE_LEDGER}; ${SHAPE_READ}; ${catalogReads([ORIGIN_WITH_LEDGER_SQL])}`
        : readAtBegin === undefined
          ? ""
          : `${FILE_SAVEPOINT}; ${readAtBegin}`;
    // The file's statements and, in their round trip, the catalog after them and whether another transaction committed since `before`.
    const runOn = async (before: Catalog, begin?: string, ours: string[] = []) => ({
        before,
        read: await runFile(client, migration.name, migration.sql, statements, outcome, {
            savepointTaken: true,
            first: begin,
            then: [readAfterStatement(client, before, ours)],
        }),
    });
    // The file with the begin and the check, in one round trip. Its statements stand on the carried catalog as of the check. When
    // the file ran again statement by statement (its query failed: a deadlock, say), the check's answer went with that query: asked
    // again, the run's own commit excluded, or the records' check would take that commit for another session's. Not prepared: a
    // file that deallocated the engine's statements is named by the catalog read that follows (deallocatedByFile).
    const onCarried = async (catalog: Catalog, begin: string) => {
        try {
            const { read } = await runOn(catalog, begin, known.ours);
            const checked = read ?? (await client.query(catalogReads([committedSinceStatement(catalog.mark!, known.ours, true)])));
            return { before: checkedFirstIn(Array.isArray(checked) ? checked : [checked], catalog) ?? catalog, read };
        } catch (error) {
            if (!isCatalogMoved(error)) {
                throw error;
            }
            known.busy = true;
            return runOn(catalogIn(await client.query(`rollback to savepoint memory_stack_file; ${snapshotStatement(client)!}`)));
        }
    };
    let ours: string[] | undefined;
    // The records and the ledger row go with the commit, in its round trip.
    let writes = "";
    let encodingChecked = false;
    const change = await boundedTransaction(
        session,
        migration.name,
        `Nothing of ${migration.name} was applied${earlier}.`,
        async (begun, unsent) => {
            const started = performance.now();
            if (first) {
                noteShape(client, begun);
                noteOrigin(client, resultWith(begun, "compared")!.rows[0] as Origins);
            }
            // The catalog before the statements, as this transaction sees it (never an older one unchecked: an object another
            // session created or dropped in between would be in neither read, and one this file then dropped or replaced would go
            // unseen). An object another session made before it is not written by this transaction, so it is never taken for
            // ours, and one of the schema's names there and not the stack's refuses the migration (appeared.ts).
            const { before, read } = combined
                ? await onCarried(carried, unsent)
                : await runOn(
                      readAtBegin === undefined
                          ? await snapshot(client, [FILE_SAVEPOINT])
                          : carried
                            ? (carriedIn(begun, carried) ?? (await snapshot(client)))
                            : catalogIn(begun),
                  );
            const durationMs = performance.now() - started;
            encodingChecked = refuseClientEncoding(read, migration.name, outcome);
            const recorded = await recordCreated(client, migration.name, before, {
                connect: session.connect,
                observer: session.checker,
                named: options.schema && namedBy(options.schema),
                memory: options.schema && { sql: migration.sql, session },
                since: known.catalog,
                recorded: known.recorded,
                ...readAfter(read),
                alongside: ledgerInsert({
                    name: migration.name,
                    checksum: migration.checksum,
                    variant: options.variant,
                    options: options.schema,
                    durationMs,
                    stack: options.stack,
                }),
                outcome: `Nothing of ${migration.name} was applied${earlier}: it was rolled back whole and the ledger does not list it. Then run apply again.`,
                deferWrites: true,
            }).catch((error: unknown) => {
                throw deallocatedByFile(error, migration.name, outcome) ?? error;
            });
            writes = recorded.writes!;
            return recorded;
        },
        async () => {
            try {
                ours = ownXidsIn(
                    await client.query(
                        `${encodingChecked ? "" : `${UTF8_SESSION};\n`}${writes && `${writes};\n`}${statementOf(client, "own_xids")};\n${SESSION_PATH};\n${statementOf(client, "lock_held")};\ncommit`,
                    ),
                );
            } catch (error) {
                if (!isConnectionLost(error)) {
                    const released = lockReleasedBy(error, migration.name, outcome);
                    if (released) {
                        throw released;
                    }
                    // Deferred constraints fail here, at commit (or, never seen, the records' writes sent with it); that is still this file's failure.
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
        atBegin,
        "engine",
        combined,
    );
    Object.assign(known, { catalog: change.after, ours, recorded: change.recorded, ledgerCurrent: true });
}
