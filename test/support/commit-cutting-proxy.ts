// A TCP proxy in front of PostgreSQL that cuts a connection at a COMMIT: it reads the client's
// messages (PostgreSQL's wire protocol: a startup message, then type byte + length + body) and, once
// armed, at the next simple query that ends a transaction with COMMIT either drops both sides without forwarding it ("before") or
// forwards it and then drops both sides ("after": the server commits, its reply is lost). Everything
// else, and every connection after the cut, passes through unchanged. Plain TCP (the server answers an
// SSLRequest with "no TLS", and the client goes on in plain text).
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from "node:net";

export type CutMode = "before" | "after";

export interface CommitCuttingProxy {
    host: string;
    port: number;
    /** Cut the connection that sends the next COMMIT. */
    /** `containing`: only a COMMIT sent with this text (a migration's name, which its ledger row carries). */
    arm(mode: CutMode, containing?: string): void;
    /** How many cuts happened. */
    readonly cuts: number;
    close(): Promise<void>;
}

export async function startCommitCuttingProxy(target: { host: string; port: number }): Promise<CommitCuttingProxy> {
    let armed: CutMode | undefined;
    let only: string | undefined;
    let cuts = 0;
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
        const upstream = connectTcp(target.port, target.host);
        for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on("close", () => sockets.delete(socket));
            socket.on("error", () => undefined);
        }
        upstream.on("data", (data) => client.write(data));
        upstream.on("close", () => client.destroy());
        // "after": the COMMIT must reach the server before the connection to it goes; it closes once the server has read it.
        let forwarding = false;
        client.on("close", () => {
            if (!forwarding) upstream.destroy();
        });
        let pending = Buffer.alloc(0);
        let started = false;
        client.on("data", (data) => {
            pending = Buffer.concat([pending, data]);
            for (;;) {
                const header = started ? 5 : 4;
                if (pending.length < header) return;
                const length = (started ? 1 : 0) + pending.readUInt32BE(started ? 1 : 0);
                if (pending.length < length) return;
                const message = pending.subarray(0, length);
                pending = pending.subarray(length);
                // An SSLRequest (length 8, code 80877103) comes before the startup message, untyped like it.
                started = started || !(length === 8 && message.readUInt32BE(4) === 80877103);
                // A simple query ending with the COMMIT of a transaction an earlier one began (the engine sends a migration's
                // last writes with it; a query that is a whole transaction, begin to commit, is not one).
                const text = message[0] === 0x51 ? message.subarray(5, length - 1).toString("utf8") : "";
                const commit = /(^|;)\s*commit\s*;?\s*$/i.test(text) && !/^\s*begin\b/i.test(text);
                if (commit && armed && (only === undefined || text.includes(only))) {
                    const mode = armed;
                    armed = undefined;
                    cuts++;
                    if (mode === "after") {
                        forwarding = true;
                        upstream.end(message);
                    } else {
                        upstream.destroy();
                    }
                    client.destroy();
                    return;
                }
                upstream.write(message);
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        host: "127.0.0.1",
        port: (server.address() as AddressInfo).port,
        arm(mode, containing) {
            armed = mode;
            only = containing;
        },
        get cuts() {
            return cuts;
        },
        async close() {
            for (const socket of sockets) socket.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
