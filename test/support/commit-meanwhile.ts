// Another session that commits while a migration runs, at a point the test chooses: the migration's
// SQL waits for an advisory lock that session holds in a transaction with an xid, and the session
// commits once the migration waits for it. So another transaction commits between the migration's
// catalog reads (before and after its statements), and the engine must ask a second session what it
// sees (appeared.ts) instead of trusting that nothing else changed.
import type { Client } from "pg";
import { until } from "./poll";

export interface CommitMeanwhile {
    /** The statement to put first in the migration: it waits until the other session commits. */
    sql: string;
    /** Settles once the other session committed and disconnected. */
    committed: Promise<void>;
}

export async function commitMeanwhile(db: { connect(): Promise<Client> }, key: number): Promise<CommitMeanwhile> {
    const other: Client = await db.connect();
    await other.query("begin");
    // An xid of its own, and the lock the migration will wait for.
    await other.query("select pg_current_xact_id(), pg_advisory_xact_lock($1)", [key]);
    const committed = (async () => {
        try {
            await until("the migration to wait for the other session's lock", async () => {
                const { rows } = await other.query<{ waiting: boolean }>(
                    `select exists (select from pg_locks where locktype = 'advisory' and not granted
                                       and database = (select oid from pg_database where datname = current_database())
                                       and objid = $1) as waiting`,
                    [key],
                );
                return rows[0].waiting ? true : undefined;
            });
            await other.query("commit");
        } finally {
            await other.end();
        }
    })();
    // Its own lock_timeout: on a loaded machine the poll above can take longer than the engine's (500 ms), and the migration's
    // retry would then run after the commit, with nothing committing during it.
    return { sql: `set local lock_timeout = '30s';\nselect pg_advisory_xact_lock(${key});\n`, committed };
}
