// `npm run bench -- --quick` as a smoke test: every part runs at small sizes, the table is printed
// and the figures are written (to a temp file, so bench/results.json keeps the last full run).
// The benchmark itself is not part of `npm test`: this is its only test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const REPO = join(__dirname, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "memory-stack-bench-test-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(...args: string[]) {
    return spawnSync(process.execPath, [join(REPO, "node_modules", "tsx", "dist", "cli.mjs"), "bench/run.ts", ...args],
        { cwd: REPO, encoding: "utf8", timeout: 110_000 });
}

describe("npm run bench -- --quick", () => {
    it("runs every part, prints the table and writes every figure with the date and the machine", () => {
        const out = join(dir, "results.json");
        const run = bench("--quick", "--out", out);
        expect(run.status, run.stderr).toBe(0);

        expect(run.stdout).toMatch(/\| part +\| figure +\| memory-stack +\| baseline +\| ratio +\| n +\| note +\|/);
        for (const part of ["apply", "noop", "verify", "deploy", "pooling", "vector"]) {
            expect(run.stdout).toMatch(new RegExp(`^\\| ${part} `, "m"));
        }
        expect(run.stdout).not.toContain("(part failed)");
        expect(run.stderr).toMatch(/\[bench +[\d.]+ s\] vector: migrating/);

        const results = JSON.parse(readFileSync(out, "utf8"));
        expect(results.mode).toBe("quick");
        expect(Number.isNaN(Date.parse(results.date))).toBe(false);
        expect(results.machine.cores).toBeGreaterThan(0);
        expect(results.machine.memoryGiB).toBeGreaterThan(0);
        expect(results.machine.node).toBe(process.version);
        expect(results.parts.apply.engineMs.median).toBeGreaterThan(0);
        expect(results.parts.noop.diff.statementsPerDiff).toBe(0);
        expect(results.parts.noop.diff.connections).toBe(0);
        expect(results.parts.verify.jsonb.roundTrips).toBeGreaterThan(0);
        expect(results.parts.deploy.ms.median).toBeGreaterThan(0);
        expect(results.parts.vector.vectorAnn.recalls.length).toBeGreaterThan(0);
        expect(results.table.every((row: { value: unknown }) => row.value === null || typeof row.value === "number")).toBe(true);
    }, 120_000);

    it("refuses an unknown part, naming the parts there are", () => {
        const run = bench("--only", "everything");
        expect(run.status).toBe(2);
        expect(run.stderr).toContain("--only everything: unknown part everything; the parts are apply, noop, verify, deploy, pooling, vector");
    });
});
