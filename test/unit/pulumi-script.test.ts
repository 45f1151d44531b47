// `npm run up|preview|destroy|refresh` (scripts/pulumi.js) with a fake `pulumi` first on PATH that records
// every call: which arguments reach Pulumi, which stack, and with which passphrase. The script runs from
// a copy beside a no-op build, so the test does not rebuild the dist/ that other test files load.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../support/stack-files";

const DEV_PASSPHRASE = "memory-stack-dev-only";
let dir: string;

beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "memory-stack-pulumi-script-"));
    mkdirSync(join(dir, "scripts"));
    mkdirSync(join(dir, "bin"));
    copyFileSync(join(REPO, "scripts", "pulumi.js"), join(dir, "scripts", "pulumi.js"));
    writeFileSync(join(dir, "scripts", "build.mjs"), "// the test's stand-in for the build\n");
    const fake = join(dir, "bin", "pulumi");
    writeFileSync(
        fake,
        `#!${process.execPath}\n` +
            "const { appendFileSync } = require('node:fs');\n" +
            "appendFileSync(process.env.FAKE_PULUMI_LOG, JSON.stringify({ args: process.argv.slice(2), passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? null, backend: process.env.PULUMI_BACKEND_URL }) + '\\n');\n",
    );
    chmodSync(fake, 0o755);
});

afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
});

interface Run {
    status: number | null;
    stderr: string;
    calls: { args: string[]; passphrase: string | null; backend: string }[];
}

function npmRun(args: string[], env: Record<string, string> = {}): Run {
    const log = join(dir, `calls-${Math.random().toString(36).slice(2)}.jsonl`);
    const base = Object.fromEntries(
        Object.entries(process.env).filter(([key]) => !key.startsWith("PULUMI_") && !key.startsWith("FAKE_PULUMI")),
    ) as Record<string, string>;
    const result = spawnSync(process.execPath, [join(dir, "scripts", "pulumi.js"), ...args], {
        env: { ...base, PATH: `${join(dir, "bin")}${delimiter}${process.env.PATH}`, FAKE_PULUMI_LOG: log, ...env },
        encoding: "utf8",
    });
    const calls = existsSync(log)
        ? readFileSync(log, "utf8")
              .trim()
              .split("\n")
              .map((line) => JSON.parse(line))
        : [];
    return { status: result.status, stderr: result.stderr, calls };
}

const SELECT = (stack: string) => ["stack", "select", "--create", "--secrets-provider", "passphrase", stack];
const WAYS_TO_NAME_VECTOR: [string, string[], Record<string, string>][] = [
    ["--stack vector", ["--stack", "vector"], {}],
    ["--stack=vector", ["--stack=vector"], {}],
    ["-s vector", ["-s", "vector"], {}],
    ["-svector", ["-svector"], {}],
    ["-s=vector", ["-s=vector"], {}],
    ["-ys vector", ["-ys", "vector"], {}],
    ["PULUMI_STACK=vector", [], { PULUMI_STACK: "vector" }],
];

describe("npm run up: the stack", () => {
    it("selects (creating) the dev stack with the dev passphrase and a file backend in the repo when none is named", () => {
        const run = npmRun(["up"]);

        expect(run.status).toBe(0);
        expect(run.calls.map((call) => call.args)).toEqual([SELECT("dev"), ["up", "--stack", "dev"]]);
        expect(run.calls.every((call) => call.passphrase === DEV_PASSPHRASE)).toBe(true);
        expect(run.calls[0].backend).toBe(`file://${join(dir, ".pulumi-state")}`);
    });

    it.each(WAYS_TO_NAME_VECTOR)("refuses %s without a passphrase of its own, and never calls Pulumi", (_way, args, env) => {
        const run = npmRun(["up", ...args], env);

        expect(run.status).toBe(2);
        expect(run.stderr).toContain('stack "vector" needs PULUMI_CONFIG_PASSPHRASE');
        expect(run.calls).toEqual([]);
    });

    it.each(WAYS_TO_NAME_VECTOR)("passes %s to Pulumi as one --stack vector, with the caller's passphrase", (_way, args, env) => {
        const run = npmRun(["preview", ...args, "--diff"], { ...env, PULUMI_CONFIG_PASSPHRASE: "vector-secret" });

        expect(run.status).toBe(0);
        const expected = args[0] === "-ys" ? ["preview", "-y", "--diff", "--stack", "vector"] : ["preview", "--diff", "--stack", "vector"];
        expect(run.calls.map((call) => call.args)).toEqual([SELECT("vector"), expected]);
        expect(run.calls.map((call) => call.passphrase)).toEqual(["vector-secret", "vector-secret"]);
    });

    it("lets a --stack flag win over PULUMI_STACK, as the Pulumi CLI does", () => {
        const run = npmRun(["up", "--stack", "dev"], { PULUMI_STACK: "vector" });

        expect(run.calls.map((call) => call.args)).toEqual([SELECT("dev"), ["up", "--stack", "dev"]]);
    });

    it("keeps the values of flags that take one, even when they look like a stack flag", () => {
        const run = npmRun(["up", "-m", "-svector", "--message", "--stack=vector", "-y", "--target", "urn:x"]);

        expect(run.calls.map((call) => call.args)).toEqual([
            SELECT("dev"),
            ["up", "-m", "-svector", "--message", "--stack=vector", "-y", "--target", "urn:x", "--stack", "dev"],
        ]);
    });

    it("puts its --stack before a bare --, so Pulumi reads it as a flag", () => {
        const run = npmRun(["destroy", "-s", "dev", "--", "extra"]);

        expect(run.calls.at(-1)?.args).toEqual(["destroy", "--stack", "dev", "--", "extra"]);
    });

    it.each([
        [["--stack", "dev", "-s", "vector"], "more than one stack (dev, vector)"],
        [["--stack"], "--stack (-s) needs a name"],
        [["-s"], "--stack (-s) needs a name"],
        [["--stack="], "--stack (-s) needs a name"],
    ])("refuses %j: %s", (args, message) => {
        const run = npmRun(["up", ...args], { PULUMI_CONFIG_PASSPHRASE: "x" });

        expect(run.status).toBe(2);
        expect(run.stderr).toContain(message);
        expect(run.calls).toEqual([]);
    });
});
