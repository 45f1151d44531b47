// `memory-stack <command>`: parses arguments, then (only for a command that runs) loads the engine,
// opens one direct connection, runs the command and prints. Everything printed leaves through the
// redaction rule (engine/db/redact.ts): usage errors too, since they may quote the URL.
// Exit codes: 0 done, 1 a check failed or the command refused (or the database said no), 2 bad usage,
// 130 interrupted (cli/interrupt.ts).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { redact, urlSecrets } from "../engine/db/redact";
import { HELP, parseCliArgs, USAGE, UsageError } from "./args";

export interface CliIo {
    stdout(text: string): void;
    stderr(text: string): void;
}

const PROCESS_IO: CliIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = PROCESS_IO): Promise<number> {
    // What could be a password before anything is parsed: in a URL that may not parse, and PGPASSWORD.
    const secrets = [...argv.map((arg) => arg.replace(/^--[a-z-]+=/, "")), env.DATABASE_URL ?? ""].flatMap(urlSecrets);
    secrets.push(env.PGPASSWORD ?? "");
    const out = redacting(io, secrets);
    const json = argv.includes("--json");
    try {
        const args = await parseCliArgs(argv, env);
        if (args === "help") {
            out.stdout(json ? JSON.stringify({ ok: true, usage: USAGE, help: HELP }, null, 2) : HELP);
            return 0;
        }
        if (args === "version") {
            const version = packageVersion();
            out.stdout(json ? JSON.stringify({ ok: true, version }, null, 2) : `memory-stack ${version}`);
            return 0;
        }
        secrets.push(args.connection.password);
        withNavigator();
        const { run } = await import("./run");
        return await run(args, out);
    } catch (error) {
        if (error instanceof UsageError) {
            out.stderr(`memory-stack: ${error.message}\n${USAGE}`);
            if (json) {
                out.stdout(JSON.stringify({ ok: false, exitCode: 2, error: error.message, usage: USAGE }, null, 2));
            }
            return 2;
        }
        out.stderr(`memory-stack: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return 1;
    }
}

/** The version in the package.json above this file (dist/cli/ when built, cli/ in the tests). */
function packageVersion(): string {
    for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
        const file = join(dir, "package.json");
        if (existsSync(file)) {
            return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
        }
    }
    return "(unknown version)";
}

/**
 * pg asks whether it runs in a Cloudflare Worker by building a fetch Response when there is no `navigator`
 * global, which loads Node's whole fetch stack: a fifth of a no-op apply. Node 21 and later have a
 * navigator that answers at no cost; Node 20 gets the same one here.
 */
function withNavigator(): void {
    const global = globalThis as { navigator?: { userAgent: string } };
    global.navigator ??= { userAgent: `Node.js/${process.versions.node.split(".")[0]}` };
}

/** `io` with every line redacted against `secrets` (which may still grow: the parsed password joins it). */
function redacting(io: CliIo, secrets: string[]): CliIo {
    return { stdout: (text) => io.stdout(redact(text, secrets)), stderr: (text) => io.stderr(redact(text, secrets)) };
}
