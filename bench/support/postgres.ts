// The benchmark's PostgreSQL 15: one embedded server for the run (test/support/embedded-server.ts),
// started with pg_stat_statements so "statements sent" is counted by the server itself, not by
// trusting the code under test; plus throwaway databases on it.
import { Client, type ClientConfig } from "pg";
import type { ConnectionSettings } from "../../engine/db/url";
import { startEmbeddedPostgres, type RunningServer } from "../../test/support/embedded-server";

export interface BenchPostgres {
    server: RunningServer;
    /** Connection settings for a database on this server (superuser). */
    settings(database: string): ConnectionSettings;
    createDatabase(prefix: string): Promise<string>;
    dropDatabase(name: string): Promise<void>;
    /** Statements the server ran since the last reset, over all databases, this helper's own excluded. */
    statementsSinceReset(): Promise<number>;
    resetStatements(): Promise<void>;
    stop(): Promise<void>;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
    const server = await startEmbeddedPostgres({
        flags: [
            "-c",
            "shared_preload_libraries=pg_stat_statements",
            "-c",
            "pg_stat_statements.track=top",
            "-c",
            "pg_stat_statements.track_utility=on",
        ],
    });
    const settings = (database: string): ConnectionSettings => ({
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        database,
    });
    // The observer's own session: its statements are told apart by the marker comment.
    const admin = new Client(config(settings("postgres")));
    await admin.connect();
    await admin.query("create extension if not exists pg_stat_statements");
    let counter = 0;
    return {
        server,
        settings,
        async createDatabase(prefix) {
            const name = `bench_${prefix}_${process.pid}_${++counter}`;
            await admin.query(`create database "${name}"`);
            return name;
        },
        async dropDatabase(name) {
            await admin.query(`drop database if exists "${name}" with (force)`);
        },
        async resetStatements() {
            await admin.query("/* bench-observer */ select pg_stat_statements_reset()");
        },
        async statementsSinceReset() {
            const result = await admin.query<{ calls: string }>(
                "/* bench-observer */ select coalesce(sum(calls), 0)::text as calls from pg_stat_statements where query not like '%bench-observer%'",
            );
            return Number(result.rows[0].calls);
        },
        async stop() {
            await admin.end().catch(() => undefined);
            await server.stop();
        },
    };
}

export function config(settings: ConnectionSettings, applicationName = "memory-stack-bench"): ClientConfig {
    return { ...settings, application_name: applicationName };
}

/** A connected client; the caller ends it. */
export async function connect(settings: ConnectionSettings): Promise<Client> {
    const client = new Client(config(settings));
    client.on("error", () => undefined); // a dropped database must not crash the run; the next query reports it
    await client.connect();
    return client;
}
