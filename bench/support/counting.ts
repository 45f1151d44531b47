// Counts what this process sends: every pg query, and every TCP connection any library opens.
// Used around the schema resource's diff, which must touch no database at all.
import { Socket } from "node:net";
import { Client } from "pg";
import type { SqlClient } from "../../engine/migrate/index";

export interface Sent {
    queries: number;
    connections: number;
}

/** Runs `work` with pg's Client and node's Socket instrumented; restores them after. */
export async function countingSent<T>(work: () => Promise<T>): Promise<{ sent: Sent; result: T }> {
    const sent: Sent = { queries: 0, connections: 0 };
    const query = Client.prototype.query;
    const connect = Socket.prototype.connect;
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
        sent.queries++;
        return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
        sent.connections++;
        return (connect as (...a: unknown[]) => Socket).apply(this, args);
    } as typeof connect;
    try {
        return { sent, result: await work() };
    } finally {
        Client.prototype.query = query;
        Socket.prototype.connect = connect;
    }
}

/** `client`, counting round trips: pg sends one query at a time and waits for its answer. */
export function roundTripCounter(client: SqlClient): SqlClient & { roundTrips: number } {
    const counted = {
        roundTrips: 0,
        query: ((...args: unknown[]) => {
            counted.roundTrips++;
            return (client.query as (...a: unknown[]) => unknown)(...args);
        }) as SqlClient["query"],
    };
    return counted;
}
