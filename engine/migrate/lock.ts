// One session-level advisory lock serializes every apply and rollback on a database: a second
// `pulumi up` (or CLI run) waits, then finds nothing pending. Session locks need the direct
// connection: a transaction-mode pooler would hand the session to someone else between statements.
// The wait polls pg_try_advisory_lock, so it can say every few seconds who holds the lock and give up
// at the deadline instead of hanging.
import { escapeLiteral } from "../db/pg";
import { describeError } from "../db/errors";
import { FLUSH_ALLOWED, FLUSH_WAL } from "./flush";
import { MIGRATION_LOCK_KEY } from "./lock-held";
import { isConnectionLost } from "./lost-commit";
import { MigrationSession, seconds } from "./session";
import { SET_SESSION_CATALOG_PATH } from "./snapshot";

export { MIGRATION_LOCK_KEY };

/** How often a wait for the migration lock prints who holds it. */
const REPORT_EVERY_MS = 5_000;

export class MigrationLockTimeoutError extends Error {
    constructor(
        readonly waitedMs: number,
        readonly holders: Holders,
    ) {
        const end =
            holders.pids.length === 0
                ? "select pg_terminate_backend(pid) with the pid pg_locks shows for the advisory lock"
                : holders.pids.map((pid) => `select pg_terminate_backend(${pid})`).join("; ");
        super(
            `waited ${seconds(waitedMs)} for the migration lock; another session holds it${holders.text}. ` +
                `Wait for it to finish and run again, or end it (${end}) if it is stuck; ` +
                "the wait is bounded by migration.lockDeadlineSeconds (--lock-deadline).",
        );
        this.name = "MigrationLockTimeoutError";
    }
}

/** Runs `work` holding the migration lock on the session's connection; waits at most the session's lock deadline for it. */
export async function withMigrationLock<T>(session: MigrationSession, work: () => Promise<T>): Promise<T> {
    const { canFlush, ...before } = await acquire(session);
    session.flushAtUnlock = canFlush;
    let result: T;
    try {
        result = await work();
    } catch (error) {
        await release(session, before, true);
        throw error;
    }
    await release(session, before, false);
    return result;
}

/**
 * Flushes the run's commits (they did not wait for the disk, bounded.ts) before the lock goes, so the next run finds
 * them durable; then releases the lock and gives the session its search_path and quote_all_identifiers back. After a
 * failed run all of it is
 * best-effort (a broken connection releases the lock anyway): the caller must see the run's error, not these.
 */
async function release(session: MigrationSession, before: SessionBefore, failed: boolean): Promise<void> {
    // The other sessions close while the lock is released.
    const closing = session.close();
    try {
        const unflushed = session.unflushed;
        Object.assign(session, { flushAtUnlock: false, unflushed: false });
        const unlock = `select pg_catalog.pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint);\n${restore(before)}`;
        let flushError: unknown;
        if (unflushed && !failed) {
            // After a run that succeeded (no transaction open), one round trip: the flush commits, its commit waiting
            // for the disk, before the unlock runs. A failed flush skips the rest of the text and leaves its
            // transaction aborted: it is rolled back, and the lock released on its own below.
            flushError = await session.client.query(`begin;\n${FLUSH_WAL};\ncommit;\n${unlock}`).then(noError, (error: unknown) => error);
            if (flushError === undefined) {
                return;
            }
            await session.client.query("rollback").catch(noError);
        } else if (unflushed) {
            flushError = await session.client.query(FLUSH_WAL).then(noError, (error: unknown) => error);
        }
        const unlockError = await session.client.query(unlock).then(noError, (error: unknown) => error);
        if (failed) {
            return;
        }
        if (flushError !== undefined) {
            // A connection lost at the flush is lost at the unlock too (the lock went with it): what committed is the news.
            throw new Error(
                `the run committed (its migrations, or the rollback), but making that durable failed (${describeError(flushError)}): a server crash ` +
                    "before PostgreSQL flushes its WAL by itself (within a second) could lose the last of it; `memory-stack status` then shows what is applied.",
                { cause: flushError },
            );
        }
        if (unlockError !== undefined && !isConnectionLost(unlockError)) {
            throw unlockError;
        }
    } finally {
        await closing;
    }
}

const noError = () => undefined;

/** What the lock changes on the session for the run, as it was before. */
interface SessionBefore {
    searchPath: string;
    quoteAllIdentifiers: string;
}

const restore = ({ searchPath, quoteAllIdentifiers }: SessionBefore) =>
    `select pg_catalog.set_config('search_path', ${escapeLiteral(searchPath)}, false), ` +
    `pg_catalog.set_config('quote_all_identifiers', ${escapeLiteral(quoteAllIdentifiers)}, false)`;

// One plain statement: the try, and with the lock held the engine's search_path. The subquery (kept apart by offset 0)
// reads the caller's search_path before the outer case sets the engine's, which it does only when the lock was taken.
// Under the lock the engine's own statements resolve names in pg_catalog alone (snapshot.ts says why); migration
// transactions set the engine's search_path for themselves (bounded.ts). deadlock_timeout is read as an interval ("1s",
// "200ms"): pg_settings would build every setting's row, a third of a millisecond on each apply. quote_all_identifiers is
// off for the run: the catalog's identities (quote_ident, %I, regprocedure) and the preflight's type names would be
// written quoted under a database's `set quote_all_identifiers = on` ("users.id is "uuid"" refused every apply).
const TRY_LOCK = `select t.locked, t.pid, t.search_path, t.quote_all_identifiers, t.can_flush, t.deadlock_timeout_ms,
       case when t.locked then ${SET_SESSION_CATALOG_PATH} end as engine_path,
       case when t.locked then pg_catalog.set_config('quote_all_identifiers', 'off', false) end as plain_identifiers
  from (select pg_catalog.pg_try_advisory_lock(${MIGRATION_LOCK_KEY}::bigint) as locked, pg_catalog.pg_backend_pid() as pid,
               pg_catalog.current_setting('search_path') as search_path,
               pg_catalog.current_setting('quote_all_identifiers') as quote_all_identifiers, ${FLUSH_ALLOWED} as can_flush,
               (pg_catalog.date_part('epoch', pg_catalog.current_setting('deadlock_timeout')::pg_catalog.interval)
                   operator(pg_catalog.*) 1000::pg_catalog.float8)::pg_catalog.int4 as deadlock_timeout_ms offset 0) as t`;

/**
 * Takes the lock, sets the engine's search_path and turns quote_all_identifiers off; returns both settings as they were,
 * and whether the role may flush the WAL (flush.ts).
 */
async function acquire(session: MigrationSession): Promise<SessionBefore & { canFlush: boolean }> {
    const { client } = session;
    const started = Date.now();
    const deadline = started + session.locks.deadlineSeconds * 1000;
    let delay = 50;
    let reported = -Infinity;
    for (let attempt = 1; ; attempt++) {
        const result = await client.query<{
            locked: boolean;
            pid: number;
            search_path: string;
            quote_all_identifiers: string;
            can_flush: boolean;
            deadlock_timeout_ms: number;
        }>(TRY_LOCK);
        if (result.rows[0].locked) {
            session.pid = result.rows[0].pid;
            belowDeadlockTimeout(session, result.rows[0].deadlock_timeout_ms);
            if (attempt > 1) {
                session.waits.migrationLockMs += Date.now() - started;
            }
            return {
                searchPath: result.rows[0].search_path,
                quoteAllIdentifiers: result.rows[0].quote_all_identifiers,
                canFlush: result.rows[0].can_flush,
            };
        }
        const now = Date.now();
        if (now >= deadline) {
            throw new MigrationLockTimeoutError(now - started, await holders(session));
        }
        if (now - reported >= REPORT_EVERY_MS) {
            reported = now;
            session.report(
                `waiting for the migration lock (${seconds(now - started)} so far, giving up after ${session.locks.deadlineSeconds} s): ` +
                    `another session holds it${(await holders(session)).text}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(0, deadline - now))));
        delay = Math.min(delay * 2, 1_000);
    }
}

/** The shortest lock_timeout belowDeadlockTimeout lowers to: below it a migration would hardly ever get a busy table's lock. */
const LEAST_LOCK_TIMEOUT_MS = 100;

/**
 * A migration holding one table's lock while it waits for another's can close a cycle with an application transaction
 * that holds the second and queued for the first. PostgreSQL aborts the backend whose deadlock_timeout runs out first;
 * the application's wait may have started up to one lock_timeout before the migration's. At half the server's
 * deadlock_timeout the migration's lock_timeout ends its own wait first: it rolls back and retries, and the
 * application's transaction goes on. That holds for one wait; a migration that waited on other tables before may
 * close the cycle later (docs/migrating-under-load.md). Never below LEAST_LOCK_TIMEOUT_MS, and never raised.
 */
function belowDeadlockTimeout(session: MigrationSession, deadlockTimeoutMs: number): void {
    const most = Math.max(LEAST_LOCK_TIMEOUT_MS, Math.floor(deadlockTimeoutMs / 2));
    if (session.locks.timeoutMs <= most) {
        return;
    }
    const why =
        most * 2 <= deadlockTimeoutMs
            ? `half the server's deadlock_timeout (${deadlockTimeoutMs} ms): an application transaction waiting behind a migration's lock wait is then not the one PostgreSQL aborts to break a deadlock`
            : `the least it goes to: the server's deadlock_timeout (${deadlockTimeoutMs} ms) is shorter than twice that, so an application transaction ` +
              `caught in a lock cycle with a migration may still be the one PostgreSQL aborts (a deadlock_timeout of ${2 * LEAST_LOCK_TIMEOUT_MS} ms or more avoids it)`;
    session.report(`lock_timeout ${session.locks.timeoutMs} ms lowered to ${most} ms, ${why}`);
    session.locks.timeoutMs = most;
}

interface Holders {
    /** " (pid 4242 memory-stack-cli-apply, connected 12 s ago)", or "" when it cannot be seen. */
    text: string;
    pids: number[];
}

async function holders(session: MigrationSession): Promise<Holders> {
    // A bigint advisory key is stored as (classid = high 32 bits, objid = low 32 bits, objsubid = 1). This runs before
    // the lock is held, on the caller's search_path: every operator has an exact match in pg_catalog (numeric * 1000.0,
    // not * 1000, which a numeric * integer planted in public would beat).
    const result = await session.client
        .query<{ pid: number; application_name: string; connected_ms: number }>(
            `select l.pid, a.application_name, (extract(epoch from now() - a.backend_start) * 1000.0)::float8 as connected_ms
               from pg_locks l join pg_stat_activity a on a.pid = l.pid
              where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and l.database = (select oid from pg_database where datname = current_database())
                and l.classid = ($1::bigint >> 32)::oid and l.objid = ($1::bigint & 4294967295)::oid`,
            [MIGRATION_LOCK_KEY],
        )
        .catch(() => ({ rows: [] as { pid: number; application_name: string; connected_ms: number }[] }));
    const text =
        result.rows.length === 0
            ? ""
            : ` (${result.rows
                  .map(
                      (row) =>
                          `pid ${row.pid}${row.application_name ? ` ${row.application_name}` : ""}, connected ${seconds(row.connected_ms)} ago`,
                  )
                  .join("; ")})`;
    return { text, pids: result.rows.map((row) => row.pid) };
}
