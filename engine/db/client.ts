// One way to open, use and close a connection, and to run a transaction: every engine entry point,
// the CLI and the providers go through these, so none of them opens, guards or closes a client by hand.
import { Client, type ClientBase } from "pg";
import { toClientConfig, type ConnectionSettings } from "./url";

/** What the engine needs of a connection: one session to send statements on. */
export type SqlClient = Pick<ClientBase, "query">;

export interface ConnectOptions {
    /** application_name, so a DBA (and a lock-wait message) can tell who is connected. */
    applicationName: string;
    /** Give up connecting after this long. Default: 15 000 ms. */
    connectTimeoutMs?: number;
}

/** A connected client. A dropped connection surfaces as the running query's error, never as an unhandled event. */
export async function connect(settings: ConnectionSettings, options: ConnectOptions): Promise<Client> {
    const client = new Client({
        ...toClientConfig(settings, options.applicationName),
        connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
    } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
    }
    return client;
}

/** Runs `work` on a connection of its own, closed afterwards whatever happens. */
export async function withClient<T>(
    settings: ConnectionSettings,
    options: ConnectOptions,
    work: (client: Client) => Promise<T>,
): Promise<T> {
    const client = await connect(settings, options);
    try {
        return await work(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** begin; work; commit — or rollback and rethrow the original error (a rollback on a dead connection has nothing to undo). */
export async function withTransaction<T>(client: SqlClient, work: () => Promise<T>): Promise<T> {
    await client.query("begin");
    try {
        const result = await work();
        await client.query("commit");
        return result;
    } catch (error) {
        await client.query("rollback").catch(() => undefined);
        throw error;
    }
}
