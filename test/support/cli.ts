// The memory-stack CLI as a pipeline runs it: a child process in the project directory, its exit
// code and both streams, and no DATABASE_URL but the one a test passes.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./stack-files";

export interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

const BIN = join(REPO, "bin", "memory-stack.js");

/** Runs `command`; resolves with how it ended, never rejects. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
        const { DATABASE_URL: _ignored, ...inherited } = process.env;
        execFile(command, args, { cwd: REPO, env: { ...inherited, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
        });
    });
}

/** bin/memory-stack.js with these arguments. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return run(process.execPath, [BIN, ...args], env);
}
