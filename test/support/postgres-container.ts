// The stack's PostgreSQL container, run without Docker: what components/server.ts registers (its
// entrypoint, command, environment, uploaded start script and healthcheck, taken from the program under
// Pulumi's mocks) run for real over Debian's PostgreSQL 15 binaries, with a stand-in for the postgres
// image's docker-entrypoint.sh that behaves as the image does where it matters here.
//
// Each run is a new container: a fresh file tree (the uploads, the stand-in, /run) and a new process;
// the data directory is the volume and outlives it. The server listens on the stack's hostPort itself
// (no port proxy), and its pg_hba trusts the local socket and asks for scram-sha-256 over TCP, which is
// what a client outside the container meets.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { RawConfig } from "../../engine/config/config";
import { installMocks, resolve, runStack } from "./program";
import { until } from "./poll";

export const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

/** Why these tests cannot run here, or undefined when they can. */
export function missingPostgres15(): string | undefined {
    const found = spawnSync(join(POSTGRES_BIN, "postgres"), ["--version"], { encoding: "utf8" });
    if (found.status !== 0 || !/\(PostgreSQL\) 15\./.test(found.stdout)) {
        return `Debian's PostgreSQL 15 server binaries are not in ${POSTGRES_BIN} (apt-get install postgresql-15; .ci/run installs them)`;
    }
    return undefined;
}

// Not the image's script: the behaviour of it that these tests rely on, written for them.
const STAND_IN_ENTRYPOINT = `#!/bin/sh
# Stand-in for the postgres image's docker-entrypoint.sh: as root, runs itself again as the postgres
# user; initialises PGDATA only when it is empty (POSTGRES_USER with POSTGRES_PASSWORD, trust on the
# socket, scram-sha-256 over TCP, POSTGRES_DB created by a temporary server that listens on the socket
# only); leaves a data directory that exists as it is; then execs the command. The test server also
# logs every connection and statement, so the tests can look for the password in its log.
set -eu
if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ -s "$PGDATA/PG_VERSION" ]; then
    echo "PostgreSQL Database directory appears to contain a database; Skipping initialization"
else
    pwfile=$(mktemp)
    printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale="\${STAND_IN_LOCALE:-C}" > /dev/null
    rm -f "$pwfile"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k $PGHOST" -w start > /dev/null
    echo 'create database :"db";' | psql -X -q -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -U "$POSTGRES_USER" -d postgres
    pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi
exec "$@" -k "$PGHOST" -c log_connections=on -c log_statement=all
`;

/** What components/server.ts gives the PostgreSQL container, and the stack's own connection string. */
export interface ContainerSpec {
    entrypoints: string[];
    command: string[];
    envs: string[];
    uploads: { file: string; content: string; permissions?: string }[];
    healthcheck: string[];
    connectionString: string;
}

/** The stack for this config, under mocks (they stay installed for the file): its PostgreSQL container. */
export async function serverContainerSpec(raw: RawConfig, stackName = "memory-stack-dev"): Promise<ContainerSpec> {
    installMocks("dev");
    const run = await runStack(raw, stackName);
    const props = run.find("docker:index/container:Container", "-postgres").props;
    return {
        entrypoints: (await resolve(props.entrypoints as string[])) ?? [],
        command: await resolve(props.command as string[]),
        envs: await resolve(props.envs as string[]),
        uploads: await resolve(props.uploads as ContainerSpec["uploads"]),
        healthcheck: (await resolve(props.healthcheck as { tests: string[] })).tests,
        connectionString: await resolve(run.result.connectionString),
    };
}

export interface RunningContainer {
    /** stdout and stderr so far: the container's log. */
    log(): string;
    /** Every psql and pg_isready command line run in the container so far (the start script's, the healthcheck's). */
    commands(): string[];
    /** Runs the healthcheck once, as docker does; true when it passed. */
    healthcheck(): boolean;
    waitHealthy(timeoutMs?: number): Promise<void>;
    /** Sends the stop signal and waits for the container's process to end. */
    stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    /** The file the start script records the postmaster in (its /run/memory-stack/password-set). */
    readonly marker: string;
}

/** A data volume and the containers run over it, one at a time. */
export class ContainerHost {
    private readonly base = mkdtempSync(join(tmpdir(), "memory-stack-container-"));
    /** The volume: PGDATA of every container run here. */
    readonly volume = join(this.base, "volume", "data");
    private current: { child: ChildProcess; exited: Promise<unknown> } | undefined;
    private runs = 0;

    constructor(readonly port: number) {
        mkdirSync(dirname(this.volume));
        this.ownByPostgres(this.base, dirname(this.volume));
    }

    /**
     * `imageEnv`: variables the image itself would set (STAND_IN_LOCALE: the locale initdb uses, C unless given).
     * `imageTools`: scripts the image would have on its PATH in place of this machine's, by name (an Alpine image's getconf).
     */
    async run(
        spec: ContainerSpec,
        imageEnv: Record<string, string> = {},
        imageTools: Record<string, string> = {},
    ): Promise<RunningContainer> {
        if (this.current) {
            throw new Error("a container is still running over this volume; stop it first");
        }
        const root = join(this.base, `container-${++this.runs}`);
        const inside = (path: string) => join(root, path);
        const bin = inside("/usr/local/bin");
        const sockets = inside("/var/run/postgresql");
        mkdirSync(bin, { recursive: true });
        mkdirSync(sockets, { recursive: true });
        this.ownByPostgres(root, inside("/usr"), inside("/usr/local"), bin, inside("/var"), inside("/var/run"), sockets);
        writeFileSync(join(bin, "docker-entrypoint.sh"), STAND_IN_ENTRYPOINT, { mode: 0o755 });
        // psql and pg_isready record their arguments, so a test can prove what reached a command line.
        const commands = inside("/commands.log");
        writeFileSync(commands, "", { mode: 0o666 });
        chmodSync(commands, 0o666);
        for (const tool of ["psql", "pg_isready"]) {
            const wrapper = `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> ${commands}\nexec ${join(POSTGRES_BIN, tool)} "$@"\n`;
            writeFileSync(join(bin, tool), wrapper, { mode: 0o755 });
        }
        for (const [tool, script] of Object.entries(imageTools)) {
            writeFileSync(join(bin, tool), script, { mode: 0o755 });
        }
        for (const upload of spec.uploads) {
            writeFileSync(inside(upload.file), upload.content);
            chmodSync(inside(upload.file), Number.parseInt(upload.permissions ?? "0644", 8));
        }
        const env: NodeJS.ProcessEnv = {
            ...Object.fromEntries(spec.envs.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)])),
            // The image's own environment, and where this emulation puts the container's paths.
            PGDATA: this.volume,
            PGPORT: String(this.port),
            PGHOST: sockets,
            MEMORY_STACK_RUN_DIR: inside("/run/memory-stack"),
            PATH: [bin, POSTGRES_BIN, "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":"),
            LC_MESSAGES: "C",
            ...imageEnv,
        };
        const [entrypoint, ...entryArgs] = spec.entrypoints;
        const child = spawn(inside(entrypoint), [...entryArgs, ...spec.command], { env, stdio: ["ignore", "pipe", "pipe"] });
        let log = "";
        child.stdout!.on("data", (chunk) => (log += chunk));
        child.stderr!.on("data", (chunk) => (log += chunk));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
            child.once("exit", (code, signal) => done({ code, signal })),
        );
        this.current = { child, exited };
        const [kind, check, ...checkArgs] = spec.healthcheck;
        if (kind !== "CMD") {
            throw new Error(`expected an exec-form healthcheck ["CMD", ...], got ${JSON.stringify(spec.healthcheck)}`);
        }
        const healthcheck = () => spawnSync(inside(check), checkArgs, { env, stdio: "ignore", timeout: 5_000 }).status === 0;
        return {
            log: () => log,
            commands: () => readFileSync(commands, "utf8").split("\n").filter(Boolean),
            healthcheck,
            marker: inside("/run/memory-stack/password-set"),
            waitHealthy: async (timeoutMs = 60_000) => {
                await until(
                    "the container's healthcheck to pass",
                    () => {
                        if (child.exitCode !== null || child.signalCode !== null) {
                            throw new Error(`the container exited (${child.exitCode ?? child.signalCode}); its log:\n${log}`);
                        }
                        return healthcheck() ? true : undefined;
                    },
                    timeoutMs,
                );
            },
            stop: async (signal = "SIGINT") => {
                child.kill(signal);
                const result = await exited;
                this.current = undefined;
                return result;
            },
        };
    }

    /** Stops whatever still runs (a failed test) and removes the volume. */
    async dispose(): Promise<void> {
        if (this.current) {
            const { child, exited } = this.current;
            child.kill("SIGINT");
            const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
            await exited;
            clearTimeout(timer);
            this.current = undefined;
        }
        rmSync(this.base, { recursive: true, force: true });
    }

    /** As root the server runs as the postgres user, which must reach (and own) these directories. */
    private ownByPostgres(...paths: string[]): void {
        if (process.getuid?.() !== 0) {
            return;
        }
        const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout);
        for (const path of paths) {
            chownSync(path, id("-u"), id("-g"));
        }
    }
}

/** Command lines of this machine's processes that hold `needle`. */
export function commandLinesHolding(needle: string): string[] {
    return readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .map((pid) => {
            const file = join("/proc", pid, "cmdline");
            try {
                return existsSync(file) ? readFileSync(file, "utf8").split("\0").join(" ") : "";
            } catch {
                return ""; // the process ended meanwhile
            }
        })
        .filter((line) => line.includes(needle));
}
