// The layers the tree shows: engine/ is plain TypeScript that imports nothing from Pulumi, so the CLI
// and the dynamic providers load without it.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/stack-files";

const run = promisify(execFile);

const REPORTER = join(mkdtempSync(join(tmpdir(), "memory-stack-layers-")), "report-loaded.js");
writeFileSync(
    REPORTER,
    "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n",
);

/** Module files a `node …args` process had loaded when it exited. */
async function loadedModules(...args: string[]): Promise<string[]> {
    const { stderr } = await run(process.execPath, ["-r", REPORTER, ...args], { cwd: REPO });
    return JSON.parse(/LOADED (.*)/.exec(stderr)![1]) as string[];
}

describe("the engine layer", () => {
    it("imports nothing from @pulumi/* in any file", () => {
        const files = readdirSync(join(REPO, "engine"), { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
        expect(files.length).toBeGreaterThan(20);
        const offending = files.filter((file) =>
            /from\s+["']@pulumi\/|require\(["']@pulumi\//.test(readFileSync(join(REPO, "engine", file), "utf8")),
        );
        expect(offending).toEqual([]);
    });

    it("lets `memory-stack --help` run without loading any Pulumi module", async () => {
        const loaded = await loadedModules(join(REPO, "bin", "memory-stack.js"), "--help");
        expect(loaded.some((file) => file.includes(join("dist", "cli", "memory-stack.js")))).toBe(true);
        expect(loaded.filter((file) => file.includes(`${join("node_modules", "@pulumi")}`))).toEqual([]);
    });

    it("lets the provider host load memory-stack/providers without any Pulumi module", async () => {
        const loaded = await loadedModules("-e", `require(${JSON.stringify(join(REPO, "dist", "engine", "providers", "index.js"))})`);
        expect(loaded.filter((file) => file.includes(`${join("node_modules", "@pulumi")}`))).toEqual([]);
    });
});
