// Is this connection one server session, or a transaction pooler (PgBouncer in transaction or
// statement mode, Supavisor's transaction port) handing each transaction to whichever backend is free?
// The migration lock is a session-level advisory lock: through such a pooler it would be taken on one
// backend and "held" while the migrations run on others, and two applies could interleave.
//
// The database tells, and a pooler's luck must not: a pooler that hands our backend back to us after
// someone else's transaction ran elsewhere looks like a session to a probe that tries once.
// - A connection whose client port the server sees as our own socket's, or that got the server's own
//   cancel key (a pooler gives its clients keys of its own), has no pooler in between.
// - Otherwise a setting is left on our backend at session level: a pooler that resets the server
//   session after each transaction (the stack's own PgBouncer: discard all) loses it at once.
// - And other connections each hold a transaction open until one runs on our backend (it was free
//   for anyone: a transaction pooler), or one gets a backend started after the probe began: a pooler
//   hands out an idle server before it opens one, so ours was not idle. A pooler that hands out its
//   idle servers in turn (server_round_robin) needs as many tries as it has idle servers.
// Measured against Debian's PgBouncer 1.18 (test/integration/attack17-pooler-refusal.test.ts): one try
// missed a round-robin pooler every time and the stack's own pooler under load about once in 20.
import { randomBytes } from "node:crypto";
import type { Client } from "pg";
import { connect } from "./client";
import { describeError } from "./errors";
import { maskUrl } from "./redact";
import { connectionUrl, type ConnectionSettings } from "./url";

export interface TransactionPooler {
    /** The port the server behind the pooler listens on: where the direct connection goes. */
    serverPort: number;
    /** How the probe found out, for the message. */
    evidence: string;
}

interface Backend {
    pid: number;
    port: string;
    client_port: number | null;
}

const PROBE = "select pg_backend_pid() as pid, current_setting('port') as port, inet_client_port() as client_port";
const MARK_SETTING = "memory_stack.pooler_probe";
/** Other connections tried before giving up on telling: that many idle servers of a session pooler are refused, not guessed at. */
const MAX_OTHERS = 32;
/** A pooler with every server taken queues a transaction; a transaction pooler would give it ours within milliseconds. */
const QUEUED_AFTER_MS = 3_000;
/**
 * Rounds of the probe. A pooler that keeps sessions as they were (no reset) and serves an application meanwhile can lend
 * our backend out and hand it back between two of our statements; each round gives it another chance to show.
 */
const ROUNDS = 3;

/** The pooler this connection goes through in transaction or statement mode, or undefined for one server session. */
export async function findTransactionPooler(client: Client, openAnother: () => Promise<Client>): Promise<TransactionPooler | undefined> {
    const first = (await client.query<Backend>(PROBE)).rows[0];
    const own = client as unknown as { processID?: number; connection?: { stream?: { localPort?: number } } };
    const localPort = own.connection?.stream?.localPort;
    if ((localPort !== undefined && first.client_port === localPort) || own.processID === first.pid) {
        return undefined;
    }
    for (let round = 0; round < ROUNDS; round++) {
        const { evidence, settled } = await probeRound(client, first.pid, openAnother);
        if (evidence !== undefined) {
            return { serverPort: Number(first.port), evidence };
        }
        if (settled) {
            return undefined;
        }
    }
    return undefined;
}

/** One round: a setting left at session level on `pid`, other connections held on the pooler's backends, then the setting read back. */
async function probeRound(client: Client, pid: number, openAnother: () => Promise<Client>): Promise<Finding> {
    const token = randomBytes(8).toString("hex");
    const mark = (
        await client.query<{ pid: number; at: string }>(
            `select pg_backend_pid() as pid, extract(epoch from clock_timestamp())::text as at, set_config('${MARK_SETTING}', '${token}', false)`,
        )
    ).rows[0];
    if (mark.pid !== pid) {
        return { evidence: `two statements on this connection ran on backends ${pid} and ${mark.pid}` };
    }
    const others: Client[] = [];
    try {
        const held = await holdOthers(mark, others, openAnother);
        if (held.settled || held.evidence !== undefined) {
            return held;
        }
        const [check] = (await client.query(
            `select pg_backend_pid() as pid, current_setting('${MARK_SETTING}', true) as token; reset ${MARK_SETTING}`,
        )) as unknown as { rows: { pid: number; token: string | null }[] }[];
        const second = check.rows[0];
        if (second.pid !== pid) {
            return { evidence: `two transactions on this connection ran on backends ${pid} and ${second.pid}` };
        }
        if (second.token !== token) {
            return {
                evidence: `a setting this connection made at session level was gone at its next transaction (backend ${pid} was reset)`,
            };
        }
        return {};
    } finally {
        await Promise.all(others.map((other) => other.end().catch(() => undefined)));
    }
}

/** Evidence of a transaction pooler; or settled: one server session, no further round needed; or neither. */
interface Finding {
    evidence?: string;
    settled?: boolean;
}

/**
 * Other connections, each holding a transaction, until one runs on `mark`'s backend (evidence of a transaction pooler) or
 * gets a backend started since `mark` (ours was not free). Settled: one waits for a server, where a transaction pooler
 * would have handed it ours, idle between our statements, at once.
 */
async function holdOthers(mark: { pid: number; at: string }, others: Client[], openAnother: () => Promise<Client>): Promise<Finding> {
    for (let i = 0; i < MAX_OTHERS; i++) {
        let other: Client;
        try {
            other = await openAnother();
        } catch (error) {
            // Single-connection servers (PGlite) hand out their own cancel key and never get here: this is a pooler.
            return i === 0
                ? {
                      evidence: `it gives its clients cancel keys of its own, and refused a second connection (${describeError(error)}), so whether it keeps this connection's server session could not be told`,
                  }
                : {};
        }
        others.push(other);
        let timer: NodeJS.Timeout | undefined;
        const queued = new Promise<"queued">((resolve) => (timer = setTimeout(() => resolve("queued"), QUEUED_AFTER_MS)));
        const backend = async () => {
            try {
                await other.query("begin");
            } catch (error) {
                // PgBouncer in statement mode refuses transactions outright.
                return `a transaction was refused: ${(error as Error).message}`;
            }
            const { rows } = await other.query<{ pid: number; fresh: boolean }>(
                "select pg_backend_pid() as pid, (select extract(epoch from backend_start) from pg_stat_activity where pid = pg_backend_pid()) > $1::numeric as fresh",
                [mark.at],
            );
            return rows[0];
        };
        const held = await Promise.race([backend(), queued]).finally(() => clearTimeout(timer));
        if (typeof held === "string") {
            return held === "queued" ? { settled: true } : { evidence: held };
        }
        if (held.pid === mark.pid) {
            return {
                evidence: `another connection's transaction ran on backend ${mark.pid}, which this connection's transaction had just used`,
            };
        }
        if (held.fresh) {
            return {};
        }
    }
    return {
        evidence: `${MAX_OTHERS} other connections' transactions each ran on an idle backend of the pooler, so whether this connection keeps its own could not be told`,
    };
}

/** The migration engine's entry check: throws TransactionPoolerError when `client` goes through a transaction pooler. */
export async function refuseTransactionPooler(client: Client, settings: ConnectionSettings, applicationName: string): Promise<void> {
    const pooler = await findTransactionPooler(client, () => connect(settings, { applicationName: `${applicationName}-probe` }));
    if (pooler !== undefined) {
        throw new TransactionPoolerError(pooler, settings);
    }
}

export class TransactionPoolerError extends Error {
    constructor(pooler: TransactionPooler, settings: ConnectionSettings) {
        const direct = maskUrl(connectionUrl({ ...settings, port: pooler.serverPort }));
        super(
            `refusing to migrate through a transaction pooler: ${pooler.evidence}. The migration lock is held by one server ` +
                `session, which a transaction pooler does not keep. Use the direct connection to the server: it listens on port ` +
                `${pooler.serverPort} (for example ${direct}, if its host is the same; on Supabase, db.<project>.supabase.co:5432)`,
        );
        this.name = "TransactionPoolerError";
    }
}
