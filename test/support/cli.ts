// The memory-stack CLI as a pipeline runs it: a child process in the project directory, its exit
// code and both streams, and no DATABASE_URL or libpq PG* variable but the ones a test passes.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO } from "./stack-files";

export interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

const BIN = join(REPO, "bin", "memory-stack.js");

/** This process's environment without DATABASE_URL and libpq's PG* variables, then `env`. */
function environment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "DATABASE_URL" && !name.startsWith("PG")));
    return { ...inherited, ...env };
}

/** Runs `command`; resolves with how it ended, never rejects. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
        execFile(command, args, { cwd: REPO, env: environment(env), timeout: 60_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
        });
    });
}

/** bin/memory-stack.js with these arguments. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
    return run(process.execPath, [BIN, ...args], env);
}

/** bin/memory-stack.js started, for a test that signals it while it runs; `ended` resolves with how it ended. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; stderrSoFar(): string; ended: Promise<Run> } {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: environment(env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const ended = new Promise<Run>((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
    return { child, stderrSoFar: () => stderr, ended };
}
