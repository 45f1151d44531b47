// The README's figures are bench/results.json as `npm run bench` prints it: a row edited by hand, or a results.json
// re-measured without the README, fails here. So does the prose that quotes them: after the 14:33 re-run the
// Verification bullet still said 38 ms where its row said 48.4 ms (attack31).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Row } from "../../bench/support/measure";
import { formatTable } from "../../bench/support/table";
import { REPO } from "../support/stack-files";

const results = JSON.parse(readFileSync(join(REPO, "bench", "results.json"), "utf8")) as { table: Row[] };
const readme = readFileSync(join(REPO, "README.md"), "utf8");

/** A table's lines without the padding formatTable adds, so a hand-aligned README compares equal. */
function cells(table: string): string[] {
    return table
        .split("\n")
        .filter((line) => line.startsWith("| "))
        .map((line) =>
            line
                .split("|")
                .map((cell) => cell.trim())
                .join("|"),
        );
}

function row(figure: string): Row {
    const found = results.table.find((candidate) => candidate.figure === figure);
    expect(found, figure).toBeDefined();
    return found!;
}

describe("the README's figures", () => {
    it("are the rows of bench/results.json, as the bench prints them", () => {
        const shown = new Set(cells(readme));
        const missing = cells(formatTable(results.table)).filter((line) => !shown.has(line));
        expect(missing).toEqual([]);
    });

    it("the Verification bullet quotes the verify rows", () => {
        const trips = row("verification round trips (jsonb, PostgreSQL 15)").value!;
        const ms = Math.round(row("verification time (jsonb, PostgreSQL 15)").value!);
        expect(readme).toMatch(new RegExp(`\\*\\*Verification:\\*\\* ${trips} round trips and ${ms} ms \\(jsonb\\)`));
    });

    it("the start-up bullet's head starts are what the no-op rows show (it said 100 ms where they showed 126 and 128)", () => {
        const claimed =
            /Our start is (\d+) ms \(npx\) and (\d+) ms \(the linked bin\) shorter than node-pg-migrate's \(the no-op rows\)/.exec(
                readme.replace(/\n\s+/g, " "),
            );
        expect(claimed).not.toBeNull();
        const headStart = (figure: string) => {
            const { value, baseline } = row(figure);
            return Math.round(baseline!.value! - value!);
        };
        expect([Number(claimed![1]), Number(claimed![2])]).toEqual([
            headStart("npx memory-stack apply with nothing to apply"),
            headStart("node_modules/.bin/memory-stack apply with nothing to apply"),
        ]);
    });
});
