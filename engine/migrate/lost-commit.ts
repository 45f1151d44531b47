// A connection lost at or after COMMIT leaves one question the dead connection cannot answer: did
// the commit happen? The server may have committed and failed to send the reply, or never received
// the COMMIT. The truth is in the database: open a new session, wait until the old backend is gone
// (ending it when it sits idle in a transaction, i.e. never got the COMMIT), and read the ledger.
import { describeError } from "../db/errors";
import type { SqlClient } from "../db/client";
import { FLUSH_WAL } from "./flush";
import type { MigrationSession } from "./session";

/** Did the server answer? Without a SQLSTATE (or with one of class 08 or 57) the connection itself broke. */
export function isConnectionLost(error: unknown): boolean {
    const code = (error as { code?: unknown })?.code;
    return typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith("08") || code.startsWith("57");
}

export type Truth = { known: true; committed: boolean } | { known: false; reason: string };

const WAIT_MS = 10_000;

/** After a lost COMMIT: asks a new session whether it happened (`committed` reads the ledger). */
export async function findOutAfterLostCommit(
    session: MigrationSession,
    committed: (client: SqlClient) => Promise<boolean>,
): Promise<Truth> {
    if (!session.connect) {
        return { known: false, reason: "no way to open a new connection was given" };
    }
    const deadline = Date.now() + WAIT_MS;
    let lastError: unknown;
    for (let delay = 100; Date.now() < deadline; delay = Math.min(delay * 2, 2_000)) {
        let client: Awaited<ReturnType<NonNullable<MigrationSession["connect"]>>>;
        try {
            client = await session.connect();
        } catch (error) {
            lastError = error;
            await new Promise((resolve) => setTimeout(resolve, delay));
            continue;
        }
        try {
            if (session.pid !== undefined && !(await oldSessionGone(client, session.pid, deadline))) {
                return { known: false, reason: `the lost session (pid ${session.pid}) is still running` };
            }
            // What the ledger then says is durable: the lost commit, if it happened, did not wait for the disk. A role
            // that may not flush made commits that waited (flush.ts).
            await client.query(FLUSH_WAL).catch(() => undefined);
            return { known: true, committed: await committed(client) };
        } catch (error) {
            lastError = error;
        } finally {
            await client.end().catch(() => undefined);
        }
    }
    return { known: false, reason: `could not reconnect: ${describeError(lastError)}` };
}

async function oldSessionGone(client: SqlClient, pid: number, deadline: number): Promise<boolean> {
    let ended = false;
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
        const result = await client.query<{ state: string | null }>("select state from pg_stat_activity where pid = $1", [pid]);
        if (result.rows.length === 0) {
            return true;
        }
        // Idle in its transaction: it never received the COMMIT, so ending it rolls back, as the server would on its own, later.
        if (!ended && result.rows[0].state?.startsWith("idle in transaction")) {
            await client.query("select pg_terminate_backend($1)", [pid]);
            ended = true;
        }
        if (Date.now() > deadline) {
            return false;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
    }
}

export class LostCommitError extends Error {
    constructor(
        /** "committing 0003_tables.sql" */
        readonly what: string,
        readonly truth: Truth,
        texts: { committed: string; rolledBack: string; unknown: string; earlier?: string },
    ) {
        const found = truth.known
            ? `a new connection read the ledger: ${truth.committed ? texts.committed : texts.rolledBack}`
            : `${texts.unknown} (${truth.reason})`;
        super(`the connection was lost while ${what}${texts.earlier ?? ""}; ${found}`);
        this.name = "LostCommitError";
    }
}
