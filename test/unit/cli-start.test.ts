// What the memory-stack command loads decides how fast it starts: --help needs the flag table only, and
// a command with no schema flags needs neither zod nor the SQL parser (a no-op apply parses nothing).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { BUNDLED } from "../../engine/db/pg";
import { REPO } from "../support/stack-files";

const REPORTER = join(mkdtempSync(join(tmpdir(), "memory-stack-start-")), "report-loaded.js");
writeFileSync(
    REPORTER,
    "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n" +
        "process.on('exit', () => process.stderr.write('\\nBUILTINS ' + JSON.stringify(process.moduleLoadList) + '\\n'));\n",
);

/** What a `memory-stack …args` process had loaded when it exited: module files (LOADED) or node's own modules (BUILTINS). */
async function loaded(what: "LOADED" | "BUILTINS", ...args: string[]): Promise<string[]> {
    const { stderr } = await promisify(execFile)(process.execPath, ["-r", REPORTER, join(REPO, "bin", "memory-stack.js"), ...args], {
        cwd: REPO,
        env: { PATH: process.env.PATH },
    }).catch((error: { stderr: string }) => error);
    return JSON.parse(new RegExp(`${what} (.*)`).exec(stderr)![1]) as string[];
}

/** The module files a `memory-stack …args` process had loaded when it exited. */
async function filesLoaded(...args: string[]): Promise<string[]> {
    return loaded("LOADED", ...args);
}

/** The packages under node_modules it had loaded; pg also as the build's one-file copy (engine/db/pg.ts). */
async function packagesLoaded(...args: string[]): Promise<string[]> {
    const packages = (await filesLoaded(...args)).map((file) =>
        file === BUNDLED ? "pg" : /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1],
    );
    return [...new Set(packages.filter((name) => name !== undefined))];
}

describe("memory-stack start-up", () => {
    it("--help loads no package: no pg, zod or SQL parser, and the URL parser is inside the CLI's file", async () => {
        expect(await packagesLoaded("--help")).toEqual([]);
    });

    it("--help loads no node:crypto, which the code cache's check needs (engine/db/code-cache.ts) and a command that runs loads anyway", async () => {
        expect(await loaded("BUILTINS", "--help")).not.toContain("NativeModule crypto");
        expect(await loaded("BUILTINS", "status", "--url", "postgresql://u:p@127.0.0.1:1/d?connect_timeout=2")).toContain(
            "NativeModule crypto",
        );
    });

    it("a command without schema flags loads pg, and neither zod nor the SQL parser before it needs them", async () => {
        const loaded = await packagesLoaded("status", "--url", "postgresql://u:p@127.0.0.1:1/d?connect_timeout=2");
        expect(loaded).toContain("pg");
        expect(loaded).not.toContain("zod");
        expect(loaded).not.toContain("libpg-query");
    });

    it("loads pg from the build's one-file copy of the installed version", async () => {
        const files = await filesLoaded("status", "--url", "postgresql://u:p@127.0.0.1:1/d?connect_timeout=2");
        expect(files).toContain(BUNDLED);
        expect(files.filter((file) => file.includes(join("node_modules", "pg", "lib")))).toEqual([]);
        const { version } = JSON.parse(readFileSync(join(REPO, "node_modules", "pg", "package.json"), "utf8")) as { version: string };
        expect(readFileSync(BUNDLED, "utf8").split("\n", 1)[0]).toBe(`// pg ${version}, bundled from node_modules/pg by scripts/build.mjs`);
    });

    it("runs from the build's one-file CLI: no other compiled module is read", async () => {
        const files = await filesLoaded("status", "--url", "postgresql://u:p@127.0.0.1:1/d?connect_timeout=2");
        // memory-stack.js is the entry that loads the one file with its code cache (engine/db/code-cache.ts).
        expect(files.filter((file) => file.startsWith(join(REPO, "dist")))).toEqual([
            join(REPO, "dist", "cli", "memory-stack.js"),
            join(REPO, "dist", "cli", "memory-stack.bundle.js"),
            BUNDLED,
        ]);
    });

    it("a schema flag brings in zod, which validates it", async () => {
        expect(await packagesLoaded("status", "--vector", "--url", "postgresql://u:p@127.0.0.1:1/d?connect_timeout=2")).toContain("zod");
    });
});
