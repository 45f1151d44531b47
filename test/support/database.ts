// A fresh, empty database per caller on the run's shared PostgreSQL 15, dropped again by `drop()`.
import { Client, type ClientConfig } from "pg";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { ServerAddress } from "./embedded-server";

export interface TestDatabase {
    name: string;
    /** Connection settings for the owner (a superuser). */
    config: ClientConfig;
    /** postgresql:// URL for the owner. */
    url: string;
    server: ServerAddress;
    /** A connected client; closed by drop() if the test forgets. */
    connect(overrides?: Partial<ClientConfig>): Promise<Client>;
    drop(): Promise<void>;
}

export function sharedServer(): ServerAddress {
    return inject("postgres");
}

export async function freshDatabase(prefix = "t"): Promise<TestDatabase> {
    const server = sharedServer();
    const name = `${prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 40)}_${randomBytes(4).toString("hex")}`;
    const admin = new Client({ ...serverConfig(server), database: "postgres" });
    await admin.connect();
    try {
        await admin.query(`create database "${name}"`);
    } finally {
        await admin.end();
    }
    const config: ClientConfig = { ...serverConfig(server), database: name };
    const clients: Client[] = [];
    return {
        name,
        config,
        url: `postgresql://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${name}`,
        server,
        async connect(overrides = {}) {
            const client = new Client({ ...config, ...overrides });
            client.on("error", () => undefined); // a terminated backend must not crash the test run
            await client.connect();
            clients.push(client);
            return client;
        },
        async drop() {
            await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
            const admin = new Client({ ...serverConfig(server), database: "postgres" });
            await admin.connect();
            try {
                await admin.query(`drop database if exists "${name}" with (force)`);
            } finally {
                await admin.end();
            }
        },
    };
}

function serverConfig(server: ServerAddress): ClientConfig {
    return { host: server.host, port: server.port, user: server.user, password: server.password };
}
