// The program Pulumi runs is dist/index.js; scripts/freshness.js tells when dist/ is older than a source.
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { newerSource } from "../../scripts/freshness";

function tree(): string {
    const root = mkdtempSync(join(tmpdir(), "memory-stack-freshness-"));
    for (const dir of ["components", "engine/db", "cli", "dist"]) {
        mkdirSync(join(root, dir), { recursive: true });
    }
    for (const file of ["index.ts", "components/server.ts", "engine/db/url.ts", "cli/main.ts"]) {
        writeFileSync(join(root, file), "");
        utimesSync(join(root, file), 1_000, 1_000);
    }
    writeFileSync(join(root, "dist/index.js"), "");
    utimesSync(join(root, "dist/index.js"), 2_000, 2_000);
    return root;
}

describe("newerSource", () => {
    it("finds nothing when dist/ was built after every source", () => {
        expect(newerSource(tree(), "dist/index.js")).toBeUndefined();
    });

    it("names a source changed after the build, however deep", () => {
        const root = tree();
        utimesSync(join(root, "engine/db/url.ts"), 3_000, 3_000);
        expect(newerSource(root, "dist/index.js")).toBe(join("engine", "db", "url.ts"));
    });

    it("names the build itself when there is none", () => {
        expect(newerSource(tree(), "dist/missing.js")).toBe("dist/missing.js");
    });
});
