// A PostgreSQL 15 of a test's own (embedded-server.ts), for what the shared server must not see:
// a server log to prove what a step sent, and a crash in the middle of an apply.
//
// The log is the server's stderr (with log_connections and log_statement=ddl on request), in the
// order the backends wrote it. Windows are cut by markers: marker(label) opens and closes a
// connection named `label` and waits until it is logged; between(a, b) is what came in between.
import { Client } from "pg";
import { startEmbeddedPostgres, type RunningServer } from "./embedded-server";
import { until } from "./poll";

export interface DedicatedServer extends RunningServer {
    marker(label: string): Promise<void>;
    /** The log lines after marker `from` and before marker `to` (none of `to`'s own lines). */
    between(from: string, to: string): string[];
}

export async function startDedicatedServer(options: { logStatements?: boolean } = {}): Promise<DedicatedServer> {
    const server = await startEmbeddedPostgres({
        flags: options.logStatements ? ["-c", "log_connections=on", "-c", "log_statement=ddl"] : [],
    });
    const lines = () => server.log().split("\n");
    const markerLine = (label: string) => lines().findIndex((line) => line.includes(`application_name=${label}`));
    return {
        ...server,
        async marker(label) {
            const client = new Client({
                host: server.host,
                port: server.port,
                user: server.user,
                password: server.password,
                database: "postgres",
                application_name: label,
            });
            await client.connect();
            await client.end();
            await until(`the server log to show the connection ${label}`, () => (markerLine(label) >= 0 ? true : undefined), 15_000);
        },
        between(from, to) {
            const all = lines();
            // The `to` marker's own lines (received, authenticated, authorized) carry its pid.
            const pid = /\[\d+\]/.exec(all[markerLine(to)])![0];
            const end = all.findIndex((line, index) => index > markerLine(from) && line.includes(pid));
            return all.slice(markerLine(from) + 1, end).filter((line) => line.trim() !== "");
        },
    };
}
