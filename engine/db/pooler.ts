// Is this connection one server session, or a transaction pooler (PgBouncer in transaction or
// statement mode, Supavisor's transaction port) handing each transaction to whichever backend is free?
// The migration lock is a session-level advisory lock: through such a pooler it would be taken on one
// backend and "held" while the migrations run on others, and two applies could interleave.
//
// The database tells: two short transactions on one connection that land on different backends. An
// idle pooler hands the same backend back, so a second connection holds a transaction open in between,
// which makes the pooler pick another. A connection whose client port the server sees as our own socket's
// port has nothing in between, and is not probed further.
import type { Client } from "pg";
import { connect, type SqlClient } from "./client";
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

/** The pooler this connection goes through in transaction or statement mode, or undefined for one server session. */
export async function findTransactionPooler(client: Client, openAnother: () => Promise<Client>): Promise<TransactionPooler | undefined> {
    const first = await backend(client);
    const localPort = (client as unknown as { connection?: { stream?: { localPort?: number } } }).connection?.stream?.localPort;
    if (localPort !== undefined && first.client_port === localPort) {
        return undefined;
    }
    let other: Client;
    try {
        other = await openAnother();
    } catch {
        // A pooler takes a second client; a server that refuses one (a single-connection server) is no pooler.
        return undefined;
    }
    const pooler = (evidence: string): TransactionPooler => ({ serverPort: Number(first.port), evidence });
    try {
        try {
            await other.query("begin");
        } catch (error) {
            // PgBouncer in statement mode refuses transactions outright.
            return pooler(`a transaction was refused: ${(error as Error).message}`);
        }
        const held = await backend(other);
        if (held.pid === first.pid) {
            return pooler(
                `another connection's transaction ran on backend ${first.pid}, which this connection's transaction had just used`,
            );
        }
        const second = await backend(client);
        if (second.pid !== first.pid) {
            return pooler(`two transactions on this connection ran on backends ${first.pid} and ${second.pid}`);
        }
        return undefined;
    } finally {
        await other.query("rollback").catch(() => undefined);
        await other.end().catch(() => undefined);
    }
}

async function backend(client: SqlClient): Promise<Backend> {
    return (await client.query<Backend>(PROBE)).rows[0];
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
