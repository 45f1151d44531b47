// A command that succeeded exits once its work is done: it ends its session and does not wait for the
// server to close its side of the connection (a backend that created many objects takes a few ms to exit,
// every run). A proxy in front of the server forwards everything but keeps the client's socket open
// after the session ended, for 20 s: the command must have closed it itself before that.
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "../support/cli";
import { dropRoles, freshDatabase, sharedServer, type TestDatabase } from "../support/database";

let db: TestDatabase;

beforeAll(async () => {
    db = await freshDatabase("cli_exit");
});

afterAll(async () => {
    await db?.drop();
    await dropRoles(sharedServer(), [`${db.name}_app`, `${db.name}_admin`]);
});

/**
 * Forwards both ways. When the server ends the first connection's session, that client's socket stays open for `holdMs`
 * (others, such as the transaction-pooler probe's, close at once).
 */
async function slowToCloseProxy(target: { host: string; port: number }, holdMs: number) {
    const timers = new Set<NodeJS.Timeout>();
    let letGo = 0;
    let connections = 0;
    const sockets = new Set<Socket>();
    // allowHalfOpen: the client's FIN is not answered with one at once, as a server that is slow to end its session does not.
    const server = createServer({ allowHalfOpen: true }, (client) => {
        const upstream = connectTcp(target.port, target.host);
        const held = ++connections === 1;
        for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on("close", () => sockets.delete(socket));
        }
        client.on("error", () => undefined);
        upstream.on("error", () => undefined);
        client.on("data", (data) => upstream.write(data));
        client.on("end", () => upstream.end());
        upstream.on("data", (data) => client.write(data));
        upstream.on("close", () => {
            if (!held) {
                client.end();
                return;
            }
            const timer = setTimeout(() => {
                letGo += 1;
                client.destroy();
            }, holdMs);
            timers.add(timer);
            client.on("close", () => {
                clearTimeout(timer);
                timers.delete(timer);
            });
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
        port: (server.address() as AddressInfo).port,
        /** Connections the proxy had to close itself, the client still waiting on them. */
        get letGo() {
            return letGo;
        },
        async close() {
            timers.forEach((timer) => clearTimeout(timer));
            sockets.forEach((socket) => socket.destroy());
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

describe("a command that succeeded", () => {
    it("exits without waiting for the server to close its side of the session", async () => {
        const url = new URL(db.url);
        const proxy = await slowToCloseProxy({ host: url.hostname, port: Number(url.port) }, 20_000);
        try {
            url.port = String(proxy.port);
            url.searchParams.set("sslmode", "disable");
            const run = await cli(["apply", "--app-role", `${db.name}_app`, "--admin-role", `${db.name}_admin`], {
                DATABASE_URL: url.toString(),
            });
            expect(run.code, run.stderr).toBe(0);
            // It closed its connection itself: the proxy never had to end one the command was still waiting on.
            expect(proxy.letGo).toBe(0);
        } finally {
            await proxy.close();
        }
    });
});
