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
//   session after each transaction (the stack's own PgBouncer: its reset) loses it at once.
// - And other connections each hold a transaction open until one runs on our backend (it was free
//   for anyone: a transaction pooler), or one gets a backend started after the probe began, or waits
//   for one: a pooler hands out an idle server before it opens or queues, so ours was not idle. A pooler
//   that hands out its idle servers in turn (server_round_robin) needs as many tries as it has idle ones.
//   They give their servers back before our next statement, which then has those to land on, not ours.
// Measured against Debian's PgBouncer 1.18 (test/integration/attack17-pooler-probe.test.ts): the earlier
// single try missed a round-robin pooler every time and a busy pooler 1 to 6 times in 150. A round of this
// should miss no pooler that resets sessions (the setting is gone whatever the timing), yet once did under load,
// so it runs twice (findTransactionPooler); one that keeps them and is
// kept busy by three clients meanwhile, once in 1,800 probes, where the migrations' commits still
// find the lock gone (engine/migrate/lock-held.ts) whenever they run on another backend.
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

/** The pooler this connection goes through in transaction or statement mode, or undefined for one server session. */
export async function findTransactionPooler(client: Client, openAnother: () => Promise<Client>): Promise<TransactionPooler | undefined> {
    const first = (await client.query<Backend>(PROBE)).rows[0];
    const own = client as unknown as { processID?: number; connection?: { stream?: { localPort?: number } } };
    const localPort = own.connection?.stream?.localPort;
    if ((localPort !== undefined && first.client_port === localPort) || own.processID === first.pid) {
        return undefined;
    }
    // Twice before it counts as one session: under a loaded CI run one round once missed the stack's own pooler (1 probe in
    // 100, attack17-pooler-probe), a cause not found since; a second round costs only a connection that has a pooler or
    // proxy in between (a direct one returned above).
    const evidence = (await probe(client, first.pid, openAnother)) ?? (await probe(client, first.pid, openAnother));
    return evidence === undefined ? undefined : { serverPort: Number(first.port), evidence };
}

/** A setting left at session level on `pid`, other connections held on the pooler's backends, then the setting read back. */
async function probe(client: Client, pid: number, openAnother: () => Promise<Client>): Promise<string | undefined> {
    const token = randomBytes(8).toString("hex");
    const mark = (
        await client.query<{ pid: number; at: string }>(
            `select pg_backend_pid() as pid, extract(epoch from clock_timestamp())::text as at, set_config('${MARK_SETTING}', '${token}', false)`,
        )
    ).rows[0];
    if (mark.pid !== pid) {
        return `two statements on this connection ran on backends ${pid} and ${mark.pid}`;
    }
    const others: Client[] = [];
    try {
        const held = await holdOthers(mark, others, openAnother);
        if (held !== undefined) {
            return held;
        }
        // Their servers go back to the pooler first: the read-back then has those to land on rather than ours.
        await release(others.splice(0));
        const [check] = (await client.query(
            `select pg_backend_pid() as pid, current_setting('${MARK_SETTING}', true) as token; reset ${MARK_SETTING}`,
        )) as unknown as { rows: { pid: number; token: string | null }[] }[];
        const second = check.rows[0];
        if (second.pid !== pid) {
            return `two transactions on this connection ran on backends ${pid} and ${second.pid}`;
        }
        if (second.token !== token) {
            return `a setting this connection made at session level was gone at its next transaction (backend ${pid} was reset)`;
        }
        return undefined;
    } finally {
        await release(others);
    }
}

/** Ends the other connections' transactions, then the connections: a pooler keeps the servers (a client leaving mid-transaction closes its server). */
async function release(others: Client[]): Promise<void> {
    await Promise.all(
        others.map((other) =>
            other
                .query("rollback")
                .then(noError, noError)
                .then(() => other.end().catch(noError)),
        ),
    );
}

function noError(): void {}

/**
 * Other connections, each holding a transaction, until one runs on `mark`'s backend (evidence of a transaction pooler) or
 * gets a backend started since `mark`, or waits for one (ours was not free: a transaction pooler would have handed ours,
 * idle between our statements, to a waiting transaction at once).
 */
async function holdOthers(
    mark: { pid: number; at: string },
    others: Client[],
    openAnother: () => Promise<Client>,
): Promise<string | undefined> {
    for (let i = 0; i < MAX_OTHERS; i++) {
        let other: Client;
        try {
            other = await openAnother();
        } catch (error) {
            // Single-connection servers (PGlite) hand out their own cancel key and never get here: this is a pooler.
            return i === 0
                ? `it gives its clients cancel keys of its own, and refused a second connection (${describeError(error)}), so whether it keeps this connection's server session could not be told`
                : undefined;
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
        if (held === "queued") {
            // Its transaction may yet get our server and wait there for the read-back: it leaves the queue now.
            others.pop();
            await other.end().catch(noError);
            return undefined;
        }
        if (typeof held === "string") {
            return held;
        }
        if (held.pid === mark.pid) {
            return `another connection's transaction ran on backend ${mark.pid}, which this connection's transaction had just used`;
        }
        if (held.fresh) {
            return undefined;
        }
    }
    return `${MAX_OTHERS} other connections' transactions each ran on an idle backend of the pooler, so whether this connection keeps its own could not be told`;
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
                `${pooler.serverPort} as the server sees it (for example ${direct}, if its host is the same; a container publishes it on ` +
                "its own host port, such as the stack's hostPort; on Supabase, db.<project>.supabase.co:5432)",
        );
        this.name = "TransactionPoolerError";
    }
}
