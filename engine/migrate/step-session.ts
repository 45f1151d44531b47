// How a step talks to the server: its transactions under a short lock_timeout, retried with backoff
// until a deadline when a lock is not free in time, and the session settings a step changes and
// gives back. step-runner.ts decides what runs; this file, how.
import type { SqlClient } from "../db/client";

export interface LockRetry {
    /** lock_timeout of the transaction. */
    lockTimeoutMs: number;
    /** How long to keep retrying; past it, the last lock timeout fails the transaction. */
    lockDeadlineMs: number;
    /** "0016_vector_contract.sql step contract_goals", for the message at the deadline. */
    what: string;
    /** Called before each retry. */
    onWait(attempt: number, retryInMs: number, oldestTransactions: string): void;
    /** Commits; a failure there (a deferred constraint) is the work's failure. */
    commit(): Promise<unknown>;
}

/** begin; lock_timeout; work; commit — retried whole with backoff while it fails on lock_timeout, up to the deadline. */
export async function retryingTransaction<T>(client: SqlClient, retry: LockRetry, work: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
        await client.query("begin");
        try {
            await client.query("select set_config('lock_timeout', $1, true)", [`${retry.lockTimeoutMs}ms`]);
            const result = await work();
            await retry.commit();
            return result;
        } catch (error) {
            await client.query("rollback").catch(() => undefined);
            if (!isLockTimeout(error)) {
                throw error;
            }
            const retryInMs = Math.round(Math.min(100 * 2 ** (attempt - 1), 5_000) * (0.5 + Math.random() / 2));
            if (Date.now() - started + retryInMs > retry.lockDeadlineMs) {
                throw new Error(
                    `${retry.what}: gave up after ${attempt} lock timeouts (lock_timeout ${retry.lockTimeoutMs} ms each) ` +
                        `over ${Math.round((Date.now() - started) / 1000)} s, the deadline; the longest open transactions: ${(await oldestTransactions(client)) || "none now"}. ` +
                        "Let those transactions finish (or end them) and apply again; the application never waited longer than one lock_timeout.\n" +
                        (error as Error).message,
                    { cause: error },
                );
            }
            retry.onWait(attempt, retryInMs, await oldestTransactions(client));
            await new Promise((resolve) => setTimeout(resolve, retryInMs));
        }
    }
}

function isLockTimeout(error: unknown): boolean {
    const { sqlState, code } = error as { sqlState?: string; code?: string };
    return (sqlState ?? code) === "55P03";
}

async function oldestTransactions(client: SqlClient): Promise<string> {
    const result = await client.query<{ pid: number; application_name: string; state: string; seconds: number }>(
        `select pid, application_name, state, round(extract(epoch from now() - xact_start))::int as seconds from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null order by xact_start limit 3`,
    );
    return result.rows
        .map((row) => `pid ${row.pid} (${row.application_name || "no application_name"}, ${row.state}, open ${row.seconds} s)`)
        .join(", ");
}

/**
 * Sets session settings for `work` and restores them afterwards. `undefined` only saves and restores
 * (work changes it). A value the server refuses as invalid (client_connection_check_interval on a
 * platform that cannot check sockets) leaves the setting as it was: each is an improvement, not a
 * requirement. When work fails, restoring is best-effort: the caller must see work's error.
 */
export async function withSessionSettings<T>(
    client: SqlClient,
    settings: Record<string, string | undefined>,
    work: () => Promise<T>,
): Promise<T> {
    const saved = await client.query<{ name: string; value: string | null }>(
        "select name, current_setting(name, true) as value from unnest($1::text[]) as name",
        [Object.keys(settings)],
    );
    const known = saved.rows.filter((row) => row.value !== null);
    for (const { name } of known) {
        const value = settings[name];
        if (value !== undefined) {
            await client.query("select set_config($1, $2, false)", [name, value]).catch((error: unknown) => {
                if ((error as { code?: string }).code !== "22023") throw error;
            });
        }
    }
    let failed = false;
    try {
        return await work();
    } catch (error) {
        failed = true;
        throw error;
    } finally {
        for (const { name, value } of known) {
            await client.query("select set_config($1, $2, false)", [name, value]).catch((error: unknown) => {
                if (!failed) throw error;
            });
        }
    }
}
