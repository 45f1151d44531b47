// A fresh, empty database per caller on the run's shared PostgreSQL 15, dropped again by `drop()`.
import { Client, type ClientConfig } from "pg";
import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { ConnectionSettings } from "../../engine/db/url";
import type { ServerAddress } from "./embedded-server";

export interface TestDatabase {
    name: string;
    /** Connection settings for the owner (a superuser). */
    config: ClientConfig;
    /** postgresql:// URL for the owner. */
    url: string;
    /** The owner's connection settings, as the components take them. */
    settings: ConnectionSettings;
    server: ServerAddress;
    /** A connected client; closed by drop() if the test forgets. */
    connect(overrides?: Partial<ClientConfig>): Promise<Client>;
    drop(): Promise<void>;
}

export function sharedServer(): ServerAddress {
    return inject("postgres");
}

/**
 * `server`: a server of the test's own (embedded-server.ts), where no other test file's transactions commit meanwhile.
 * `createOptions`: what follows `create database <name>` (`encoding 'LATIN1' template template0`).
 */
export async function freshDatabase(prefix = "t", server: ServerAddress = sharedServer(), createOptions = ""): Promise<TestDatabase> {
    const name = `${prefix
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, "_")
        .slice(0, 40)}_${randomBytes(4).toString("hex")}`;
    await asAdmin(server, `create database "${name}" ${createOptions}`);
    const config: ClientConfig = { ...serverConfig(server), database: name };
    const clients: Client[] = [];
    return {
        name,
        config,
        url: `postgresql://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${name}`,
        settings: { host: server.host, port: server.port, database: name, user: server.user, password: server.password },
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
            await asAdmin(server, `drop database if exists "${name}" with (force)`);
        },
    };
}

/** Runs `work` on a client of its own, closed afterwards whatever happens. */
export async function withClient<T>(config: ClientConfig, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client(config);
    client.on("error", () => undefined); // a terminated backend surfaces as the running query's error
    await client.connect();
    try {
        return await work(client);
    } finally {
        await client.end().catch(() => undefined);
    }
}

/** Drops roles a test created: they belong to the whole server, so drop the databases that use them first. */
export async function dropRoles(server: ServerAddress, roles: string[]): Promise<void> {
    await asAdmin(server, ...roles.map((role) => `drop role if exists "${role.replace(/"/g, '""')}"`));
}

async function asAdmin(server: ServerAddress, ...statements: string[]): Promise<void> {
    const admin = new Client({ ...serverConfig(server), database: "postgres" });
    await admin.connect();
    try {
        for (const statement of statements) {
            await admin.query(statement);
        }
    } finally {
        await admin.end();
    }
}

function serverConfig(server: ServerAddress): ClientConfig {
    return { host: server.host, port: server.port, user: server.user, password: server.password };
}
