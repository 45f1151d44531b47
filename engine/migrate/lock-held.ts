// Whether the migrating session still holds the migration lock, asked with each migration's (and each step's) COMMIT. A
// statement of a migration file can release it: pg_advisory_unlock_all(), discard all, an unlock of its key, in the file or
// in a function the file calls (an application's trigger on a table it writes). Another apply could then take the lock
// and run beside this one, so the transaction is rolled back instead of committed.
/** "memory" in ASCII: the advisory lock key every memory-stack schema change takes (lock.ts). */
export const MIGRATION_LOCK_KEY = "120242254409593";

// What LOCK_STILL_HELD sets statement_timeout to, so the server refuses it (SQLSTATE 22023) and the COMMIT after it does not run.
const LOCK_RELEASED = "memory-stack: this session no longer holds the migration lock";

/** SQL, sent before a migration's (or a step's) COMMIT in its query: fails it when the session no longer holds the migration lock. */
export const LOCK_STILL_HELD = `select case when not exists (
        select from pg_catalog.pg_locks l
         where l.locktype operator(pg_catalog.=) 'advisory' and l.pid operator(pg_catalog.=) pg_catalog.pg_backend_pid() and l.granted
           and l.database operator(pg_catalog.=) (select d.oid from pg_catalog.pg_database d where d.datname operator(pg_catalog.=) pg_catalog.current_database())
           and l.classid operator(pg_catalog.=) (${MIGRATION_LOCK_KEY}::pg_catalog.int8 operator(pg_catalog.>>) 32)::pg_catalog.oid
           and l.objid operator(pg_catalog.=) (${MIGRATION_LOCK_KEY}::pg_catalog.int8 operator(pg_catalog.&) 4294967295)::pg_catalog.oid
           and l.objsubid operator(pg_catalog.=) 1)
    then pg_catalog.set_config('statement_timeout', '${LOCK_RELEASED}', true) end as lock_released`;

function isLockReleased(error: unknown): boolean {
    return (error as { code?: string })?.code === "22023" && String((error as Error)?.message).includes(LOCK_RELEASED);
}

/** The error for a COMMIT that LOCK_STILL_HELD refused, naming `what` ran; undefined for any other error. */
export function lockReleasedBy(error: unknown, what: string, outcome: string): Error | undefined {
    if (!isLockReleased(error)) {
        return undefined;
    }
    return new Error(
        `${what} released memory-stack's migration lock (pg_advisory_unlock_all(), discard all, or an unlock of key ${MIGRATION_LOCK_KEY}, ` +
            `in the file or a function it calls), so another apply could have run beside it. ${outcome} Remove that from the file.`,
        { cause: error },
    );
}

/**
 * The rollback's COMMIT that LOCK_STILL_HELD refused: rollback.sql is the engine's own, so the lock went with the session's
 * backend (a transaction pooler the check let through) or with a function the drops fired (an event trigger).
 */
export function lockLostAtRollback(error: unknown): Error | undefined {
    if (!isLockReleased(error)) {
        return undefined;
    }
    return new Error(
        "the rollback's session no longer held memory-stack's migration lock when it was about to commit, so another apply could " +
            "have run beside it. The rollback was undone: nothing was dropped. Run it on the direct connection to the server, not " +
            "through a transaction pooler; if it was direct, an event trigger the drops fired released the lock (pg_advisory_unlock_all()).",
        { cause: error },
    );
}
