import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModule, parseSync } from "libpg-query";
import { describe, expect, it } from "vitest";
import { PARSED_AT_BUILD, sqlKey } from "../../../engine/migrate/parsed-at-build";
import { DEFAULT_SCHEMA_OPTIONS, loadMigrationSources, loadRollbackSql, renderMigrations } from "../../../engine/migrate/render";
import { lineAt, splitStatements } from "../../../engine/migrate/statements";

const ROOT = join(__dirname, "..", "..", "..");

/** What the build parsed: every migration rendered with each variant's defaults, and rollback.sql. */
function shippedTexts(): string[] {
    const sources = loadMigrationSources();
    return [...renderMigrations(sources, DEFAULT_SCHEMA_OPTIONS), ...renderMigrations(sources, { ...DEFAULT_SCHEMA_OPTIONS, vector: true })]
        .map((migration) => migration.sql)
        .concat(loadRollbackSql());
}

describe("the shipped SQL as the build parsed it (dist/parsed-sql.json)", () => {
    it("holds the parser's own output for every shipped text, and nothing else", async () => {
        await loadModule();
        const stored = JSON.parse(readFileSync(PARSED_AT_BUILD, "utf8")) as Record<string, unknown>;
        const texts = shippedTexts();
        expect(Object.keys(stored).sort()).toEqual([...new Set(texts.map(sqlKey))].sort());
        for (const sql of texts) {
            expect(stored[sqlKey(sql)]).toEqual(parseSync(sql));
        }
    });

    it("splits a stored text exactly as a text the parser reads at run time", async () => {
        for (const sql of shippedTexts()) {
            // One more trailing newline: not stored, so parsed now; the statements are the same.
            const fresh = await splitStatements(`${sql}\n`);
            const stored = await splitStatements(sql);
            expect(stored).toEqual(fresh);
            for (const statement of stored) {
                expect(statement.line).toBe(lineAt(sql, statement.offset));
            }
        }
    });

    it("lets the compiled CLI's engine split the shipped SQL without loading the parser", () => {
        const script = `
            const { renderMigrations, loadMigrationSources, DEFAULT_SCHEMA_OPTIONS } = require("./dist/engine/migrate/render.js");
            const { splitStatements } = require("./dist/engine/migrate/statements.js");
            (async () => {
                let count = 0;
                for (const m of renderMigrations(loadMigrationSources(), DEFAULT_SCHEMA_OPTIONS)) count += (await splitStatements(m.sql)).length;
                const before = Object.keys(require.cache).some((path) => path.includes("libpg-query"));
                await splitStatements("select 1; select 2");
                const after = Object.keys(require.cache).some((path) => path.includes("libpg-query"));
                console.log(JSON.stringify({ count, before, after }));
            })();`;
        const result = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" })) as {
            count: number;
            before: boolean;
            after: boolean;
        };
        expect(result.count).toBeGreaterThan(100);
        expect(result.before).toBe(false);
        // Any other text still goes through the parser.
        expect(result.after).toBe(true);
    });
});
