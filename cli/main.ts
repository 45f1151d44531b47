// `memory-stack <command>`: parses arguments, opens one direct connection, runs the command, prints.
// Exit codes: 0 done, 1 a check failed or the command refused (or the database said no), 2 bad usage.
import type { Client } from "pg";
import { connect } from "../engine/db/client";
import { describeError } from "../engine/db/errors";
import { describeVariant } from "../engine/migrate/plan";
import { loadMigrationSources, renderMigrations } from "../engine/migrate/render";
import { HELP, parseCliArgs, USAGE, UsageError, type CliArgs } from "./args";
import { COMMANDS } from "./commands";
import { passNotices } from "./progress";

export interface CliIo {
    stdout(text: string): void;
    stderr(text: string): void;
}

const PROCESS_IO: CliIo = {
    stdout: (text) => process.stdout.write(`${text}\n`),
    stderr: (text) => process.stderr.write(`${text}\n`),
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io: CliIo = PROCESS_IO): Promise<number> {
    let args: CliArgs | "help";
    try {
        args = parseCliArgs(argv, env, Object.keys(COMMANDS));
    } catch (error) {
        if (error instanceof UsageError) {
            io.stderr(`memory-stack: ${error.message}\n${USAGE}`);
            return 2;
        }
        throw error;
    }
    if (args === "help") {
        io.stdout(HELP);
        return 0;
    }
    // Whatever is printed, the password never is (a driver or server message could echo it). A toy
    // password of a few letters would turn every message into asterisks, so those are left alone.
    const password = args.connection.password;
    const scrub = (text: string) => (password.length >= 4 ? text.split(password).join("***") : text);
    const out: CliIo = { stdout: (text) => io.stdout(scrub(text)), stderr: (text) => io.stderr(scrub(text)) };
    const { command, json, schema } = args;
    const variant = describeVariant(schema);

    let client: Client | undefined;
    try {
        try {
            client = await connect(args.connection, { applicationName: `memory-stack-cli-${command}` });
        } catch (error) {
            throw new Error(`cannot connect to ${args.target}: ${describeError(error)}`, { cause: error });
        }
        out.stderr(`memory-stack ${command}: ${args.target} (${variant})`);
        passNotices(client, out.stderr);
        const result = await COMMANDS[command]({
            client,
            args,
            migrations: renderMigrations(loadMigrationSources(), schema),
            variant,
            progress: (line) => out.stderr(line),
        });
        out.stdout(json ? JSON.stringify({ ok: result.exitCode === 0, command, ...(result.json as object) }, null, 2) : result.text);
        return result.exitCode;
    } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        out.stderr(`memory-stack ${command} failed: ${message}`);
        if (json) {
            out.stdout(JSON.stringify({ ok: false, command, error: message }, null, 2));
        }
        return 1;
    } finally {
        await client?.end().catch(() => undefined);
    }
}
