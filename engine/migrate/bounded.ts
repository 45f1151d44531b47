// DDL never queues unbounded behind an application's transaction. A queued ACCESS EXCLUSIVE request
// blocks every later query on that table, so every migration and rollback transaction runs with a
// short lock_timeout: when it expires (55P03) the whole transaction is rolled back — the queue behind
// it clears at once — and retried with backoff until the deadline, with one line per wait naming
// who blocks. The blocker is seen by a watcher session sampling pg_blocking_pids() while the
// transaction runs (a blocked session cannot ask itself).
import type { QueryResult } from "pg";
import { escapeLiteral } from "../db/pg";
import type { SqlClient } from "../db/client";
import { LocksFirst, type TableWait } from "./locks-first";
import { CATALOG_SEARCH_PATH, statementOf } from "./snapshot";
import { MigrationSession, seconds } from "./session";

export interface Blocker {
    pid: number;
    applicationName: string;
    /** pg_stat_activity.state: "idle in transaction", "active", ... */
    state: string;
    /** How long its transaction has been open: it holds its locks until it ends. Null outside a transaction. */
    transactionMs: number | null;
    /** The relation we wait for, when the wait is on one. */
    relation: string | null;
    /** A prepared transaction (two-phase commit) holds it: no backend does (pid 0), and only COMMIT or ROLLBACK PREPARED ends it. */
    gid?: string;
}

export class LockDeadlineError extends Error {
    constructor(
        readonly what: string,
        readonly waitedMs: number,
        readonly attempts: number,
        readonly blockers: Blocker[],
        outcome: string,
    ) {
        super(
            `gave up waiting for locks after ${seconds(waitedMs)} (${attempts} attempt${attempts === 1 ? "" : "s"}, each waiting at most lock_timeout): ` +
                `${what} ${describeBlockers(blockers)}. ${outcome} ` +
                `${endIt(blockers)}, then run again; ` +
                "migration.lockDeadlineSeconds (--lock-deadline) sets how long to keep trying.",
        );
        this.name = "LockDeadlineError";
    }
}

/** "End that transaction (select pg_terminate_backend(4242)) or let it finish", with the statements that end the blockers. */
export function endIt(blockers: Blocker[]): string {
    if (blockers.length === 0) {
        return "End the transaction that holds the lock (pg_stat_activity shows it, or pg_prepared_xacts for a prepared one; select pg_terminate_backend(pid)) or let it finish";
    }
    const one = blockers.length === 1;
    const ends = blockers.map((blocker) =>
        blocker.gid === undefined
            ? `select pg_terminate_backend(${blocker.pid})`
            : `commit prepared ${escapeLiteral(blocker.gid)} or rollback prepared ${escapeLiteral(blocker.gid)}, as its transaction manager would`,
    );
    return `End ${one ? "that transaction" : "those transactions"} (${ends.join("; ")}) or let ${one ? "it" : "them"} finish`;
}

/**
 * idle_in_transaction_session_timeout of every migration and rollback transaction. The engine itself leaves one idle only
 * between its round trips (its own work, at most opening its second session); a deploying process that stalls (a paused
 * or preempted runner, a network partition that sends no RST) would otherwise leave the server holding the transaction's
 * locks — ACCESS EXCLUSIVE on a memory table, every agent queued behind it — until TCP keepalive gives up, hours later.
 * The server ends the session instead: the transaction rolls back, its locks and the migration lock go.
 */
export const IDLE_IN_TRANSACTION_MS = 30_000;

export function isLockTimeout(error: unknown): boolean {
    const fields = error as { code?: string; sqlState?: string };
    return fields?.code === "55P03" || fields?.sqlState === "55P03";
}

/**
 * begin; lock_timeout, idle_in_transaction_session_timeout and the engine's search_path (search-path.ts); work; commit — retried whole while a lock wait times out, up to the deadline.
 * Under the migration lock the commit does not wait for its WAL to reach disk (synchronous_commit off): the run's
 * transactions are flushed together when it releases the lock (lock.ts), before it reports. Each stays atomic; a server crash
 * before that flush can only lose the run's last transactions whole, never part of one, and never one that an
 * application's later commit depended on (that commit's flush carries ours, which comes before it in the WAL).
 * `commit` ends the transaction (the caller's, so it can tell a lost COMMIT from a refused one);
 * `outcome` says what a failure at the deadline left behind; `alsoAtBegin`, statements to send with
 * the begin, in its round trip (`work` gets the results of them all). `beginWithWork`: the begin (with `alsoAtBegin`) is not sent
 * here but given to `work` as `unsent`, for it to send first in its own first query, one round trip fewer.
 */
export async function boundedTransaction<T>(
    session: MigrationSession,
    what: string,
    outcome: string,
    work: (begun: QueryResult[], unsent: string) => Promise<T>,
    commit: () => Promise<void> = async () => {
        await session.client.query("commit");
    },
    alsoAtBegin = "",
    /** "engine": the transaction runs migration statements (search-path.ts); "catalog": only the engine's own (snapshot.ts). */
    searchPath: "engine" | "catalog" = "engine",
    beginWithWork = false,
): Promise<T> {
    const { client, locks } = session;
    const started = Date.now();
    const deadline = started + locks.deadlineSeconds * 1000;
    let delay = 100;
    let blockedBy: Blocker[] = [];
    const locksFirst = new LocksFirst(locks.timeoutMs);
    for (let attempt = 1; ; attempt++) {
        const watch = watchBlockers(session, blockedBy);
        try {
            // Read committed whatever the database, the role or an earlier file's `set session characteristics` made the default:
            // the catalog reads and committedSinceStatement count on each statement seeing what committed before it (snapshot.ts).
            const begin = `begin isolation level read committed; set local lock_timeout = ${Math.max(1, Math.round(locks.timeoutMs))}; set local idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_MS}; ${session.flushAtUnlock ? "set local synchronous_commit = off; " : ""}${searchPath === "engine" ? statementOf(client, "search_path") : CATALOG_SEARCH_PATH}${[locksFirst.statement(), alsoAtBegin].map((sql) => sql && `; ${sql}`).join("")}`;
            const begun = beginWithWork ? [] : ((await client.query(begin)) as unknown as QueryResult | QueryResult[]);
            const result = await work(Array.isArray(begun) ? begun : [begun], beginWithWork ? begin : "");
            await commit();
            session.unflushed ||= session.flushAtUnlock;
            return result;
        } catch (error) {
            await client.query("rollback").catch(() => undefined);
            if (!isLockTimeout(error)) {
                throw error;
            }
            const { blockers, unasked, tableWait } = await watch.stop();
            locksFirst.learn(tableWait);
            // The second session was still connecting when the wait ended (a short lock_timeout on a loaded server): the next
            // attempt's line says who blocks, as that session is open by then; this one says nothing rather than "not identified".
            blockedBy = unasked ? blockedBy : blockers;
            const now = Date.now();
            if (now + delay > deadline) {
                throw new LockDeadlineError(what, now - started, attempt, blockedBy, outcome);
            }
            session.waits.retries += 1;
            if (!unasked) {
                session.report(
                    `waiting for a lock: ${what} ${describeBlockers(blockers)}; rolled back after lock_timeout ${locks.timeoutMs} ms, ` +
                        `retry ${attempt + 1} in ${seconds(delay)} (giving up after ${locks.deadlineSeconds} s)`,
                );
            }
            await new Promise((resolve) => setTimeout(resolve, delay));
            delay = Math.min(delay * 2, 5_000);
        } finally {
            await watch.stop();
        }
    }
}

export function describeBlockers(blockers: Blocker[]): string {
    if (blockers.length === 0) {
        return "was blocked by another session (not identified: no second connection could watch the wait)";
    }
    const on = blockers.find((blocker) => blocker.relation)?.relation;
    return (
        `was blocked${on ? ` on ${on}` : ""} by ` +
        blockers
            .map((blocker) =>
                blocker.gid === undefined
                    ? `pid ${blocker.pid} (${blocker.applicationName || "no application_name"}, ${blocker.state}` +
                      `${blocker.transactionMs === null ? "" : `, holding it in a transaction open for ${seconds(blocker.transactionMs)}`})`
                    : `the prepared transaction ${escapeLiteral(blocker.gid)} (prepared ${seconds(blocker.transactionMs ?? 0)} ago, ` +
                      "a two-phase commit its transaction manager has not finished; no session holds it: pg_prepared_xacts shows it)",
            )
            .join(", ")
    );
}

// pg_blocking_pids gives 0 for a prepared transaction: those of this database are named instead, by their gid.
const BLOCKERS = `
    with waited as (
        select (select format('%I.%I', n.nspname, c.relname) from pg_locks l join pg_class c on c.oid = l.relation
                  join pg_namespace n on n.oid = c.relnamespace where l.pid = $1 and not l.granted limit 1) as relation,
               (select array[l.relation::text, l.mode, (extract(epoch from l.waitstart - s.xact_start) * 1000)::text]
                  from pg_locks l join pg_class c on c.oid = l.relation join pg_stat_activity s on s.pid = l.pid
                  join pg_namespace n on n.oid = c.relnamespace
                 where l.pid = $1 and not l.granted and l.locktype = 'relation' and c.relkind in ('r', 'p')
                   and n.nspname not in ('pg_catalog', 'pg_toast', 'information_schema') limit 1) as table_wait,
               pg_blocking_pids($1) as pids)
    select a.pid, a.application_name, coalesce(a.state, 'unknown') as state,
           (extract(epoch from now() - a.xact_start) * 1000)::float8 as transaction_ms, w.relation, null::text as gid, w.table_wait
      from pg_stat_activity a, waited w where a.pid = any(w.pids)
    union all
    select 0, '', 'prepared', (extract(epoch from now() - p.prepared) * 1000)::float8, w.relation, p.gid, w.table_wait
      from pg_prepared_xacts p, waited w where 0 = any(w.pids) and p.database = current_database()
     order by 1, 6`;

/**
 * Samples who blocks the session, every quarter lock_timeout, while a transaction attempt runs; stop() gives
 * the last blockers seen, and whether the second session was still connecting, never asked (`unasked`). A sample that read pg_locks just as the wait ended, or caught a wait on a row
 * rather than the table, keeps the relation an earlier sample (or attempt: `earlier`) saw for that blocker.
 */
function watchBlockers(
    session: MigrationSession,
    earlier: Blocker[],
): { stop(): Promise<{ blockers: Blocker[]; unasked: boolean; tableWait?: TableWait }> } {
    let seen: Blocker[] = [];
    let tableWait: TableWait | undefined;
    let known = earlier;
    let running: Promise<void> = Promise.resolve();
    let stopped = false;
    let connecting = false;
    let asked = false;
    const sample = async () => {
        connecting = true;
        const observer: SqlClient | undefined = session.pid === undefined ? undefined : await session.observer();
        connecting = false;
        if (!observer || stopped) {
            return;
        }
        asked = true;
        const result = await observer
            .query<{
                pid: number;
                application_name: string;
                state: string;
                transaction_ms: number | null;
                relation: string | null;
                gid: string | null;
                table_wait: [string, string, string | null] | null;
            }>(BLOCKERS, [session.pid])
            .catch(() => ({ rows: [] }));
        if (result.rows.length > 0) {
            seen = result.rows.map((row) => ({
                pid: row.pid,
                applicationName: row.application_name,
                state: row.state,
                transactionMs: row.transaction_ms,
                relation: row.relation ?? known.find((blocker) => blocker.pid === row.pid)?.relation ?? null,
                ...(row.gid === null ? {} : { gid: row.gid }),
            }));
            known = seen;
            const wait = result.rows[0].table_wait;
            tableWait =
                wait === null || wait[2] === null ? tableWait : { oid: Number(wait[0]), mode: wait[1], startedAfterMs: Number(wait[2]) };
        }
    };
    const timer = setInterval(
        () => {
            running = running.then(sample);
        },
        // Four samples per attempt: an attempt blocked for the whole lock_timeout is seen at least twice.
        Math.max(20, Math.round(session.locks.timeoutMs / 4)),
    );
    return {
        async stop() {
            stopped = true;
            clearInterval(timer);
            // Still connecting, never asked: whether anything blocked is not known.
            const unasked = connecting && !asked;
            await running;
            return { blockers: seen, unasked, tableWait };
        },
    };
}
