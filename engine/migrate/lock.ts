// One session-level advisory lock serializes every apply and rollback on a database: a second
// `pulumi up` (or CLI run) waits, then finds nothing pending. Session locks need the direct
// connection: a transaction-mode pooler would hand the session to someone else between statements.
import type { SqlClient } from "./ledger";

/** "memory" in ASCII: the advisory lock key every memory-stack schema change takes. */
export const MIGRATION_LOCK_KEY = "120242254409593";

/** How long an apply or rollback waits for another to release the lock. */
export const DEFAULT_LOCK_TIMEOUT_MS = 600_000;

export class MigrationLockTimeoutError extends Error {
    constructor(
        readonly waitedMs: number,
        readonly holders: string,
    ) {
        super(
            `waited ${Math.round(waitedMs / 1000)} s for the migration lock; another memory-stack apply or rollback holds it${holders}. ` +
                "Wait for it to finish and run again, or end it (select pg_terminate_backend(<pid>)) if it is stuck.",
        );
        this.name = "MigrationLockTimeoutError";
    }
}

/** Runs `work` holding the migration lock on `client`'s session; waits at most `timeoutMs` for it (0: forever). */
export async function withMigrationLock<T>(client: SqlClient, timeoutMs: number, work: () => Promise<T>): Promise<T> {
    await acquire(client, timeoutMs);
    let failed = false;
    try {
        return await work();
    } catch (error) {
        failed = true;
        throw error;
    } finally {
        // When work failed the lock is released best-effort: a broken connection releases it anyway,
        // and the caller must see the original error, not the unlock's.
        await client.query("select pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch((error: unknown) => {
            if (!failed) {
                throw error;
            }
        });
    }
}

async function acquire(client: SqlClient, timeoutMs: number): Promise<void> {
    // lock_timeout bounds the wait; it is restored at once so the migrations themselves run without it.
    const previous = await client.query<{ value: string }>("select current_setting('lock_timeout') as value");
    await client.query("select set_config('lock_timeout', $1, false)", [`${timeoutMs}ms`]);
    const started = Date.now();
    try {
        await client.query("select pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    } catch (error) {
        if ((error as { code?: string }).code === "55P03") {
            throw new MigrationLockTimeoutError(Date.now() - started, await holders(client));
        }
        throw error;
    } finally {
        await client.query("select set_config('lock_timeout', $1, false)", [previous.rows[0].value]);
    }
}

async function holders(client: SqlClient): Promise<string> {
    // A bigint advisory key is stored as (classid = high 32 bits, objid = low 32 bits, objsubid = 1).
    const result = await client
        .query<{ pid: number; application_name: string }>(
            `select l.pid, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1
            and l.classid = ($1::bigint >> 32)::oid and l.objid = ($1::bigint & 4294967295)::oid`,
            [MIGRATION_LOCK_KEY],
        )
        .catch(() => ({ rows: [] as { pid: number; application_name: string }[] }));
    return result.rows.length === 0 ? "" : ` (pid ${result.rows.map((row) => `${row.pid} ${row.application_name}`.trim()).join(", ")})`;
}
