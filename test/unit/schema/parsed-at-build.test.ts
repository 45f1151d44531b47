import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadModule, parseSync } from "libpg-query";
import { describe, expect, it } from "vitest";
import { PARSED_AT_BUILD, sqlKey, treeFile, TREES_AT_BUILD } from "../../../engine/migrate/parsed-at-build";
import { DEFAULT_SCHEMA_OPTIONS, loadMigrationSources, loadRollbackSql, renderMigrations } from "../../../engine/migrate/render";
import { lineAt, splitStatements, statementSpans } from "../../../engine/migrate/statements";

const ROOT = join(__dirname, "..", "..", "..");

/** What the build parsed: every migration rendered with each variant's defaults, and rollback.sql. */
function shippedTexts(): string[] {
    const sources = loadMigrationSources();
    return [...renderMigrations(sources, DEFAULT_SCHEMA_OPTIONS), ...renderMigrations(sources, { ...DEFAULT_SCHEMA_OPTIONS, vector: true })]
        .map((migration) => migration.sql)
        .concat(loadRollbackSql());
}

describe("the shipped SQL as the build parsed it (dist/parsed-sql.json, dist/parsed-sql/)", () => {
    it("holds the parser's own spans and tree for every shipped text, and nothing else", async () => {
        await loadModule();
        const stored = JSON.parse(readFileSync(PARSED_AT_BUILD, "utf8")) as Record<string, unknown>;
        const texts = shippedTexts();
        const keys = [...new Set(texts.map(sqlKey))].sort();
        expect(Object.keys(stored).sort()).toEqual(keys);
        expect(readdirSync(TREES_AT_BUILD).sort()).toEqual(keys.map((key) => `${key}.json`));
        for (const sql of texts) {
            const tree = parseSync(sql);
            expect(stored[sqlKey(sql)]).toEqual(statementSpans(sql, tree));
            expect(JSON.parse(readFileSync(treeFile(sqlKey(sql)), "utf8"))).toEqual(tree);
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

    it("reads a text's parse tree only when a statement's node is asked for, and then that text's alone", () => {
        const script = `
            const fs = require("node:fs");
            const read = [];
            const readFileSync = fs.readFileSync;
            fs.readFileSync = (file, ...rest) => (read.push(String(file)), readFileSync(file, ...rest));
            const { renderMigrations, loadMigrationSources, DEFAULT_SCHEMA_OPTIONS } = require("./dist/engine/migrate/render.js");
            const { splitStatements } = require("./dist/engine/migrate/statements.js");
            (async () => {
                const migrations = renderMigrations(loadMigrationSources(), DEFAULT_SCHEMA_OPTIONS);
                const split = [];
                for (const m of migrations) split.push(await splitStatements(m.sql));
                const trees = () => read.filter((file) => file.includes("parsed-sql/"));
                const before = trees();
                const kinds = split[2].map((statement) => statement.kind + ":" + Object.keys(statement.node).length);
                console.log(JSON.stringify({ before, after: trees(), kinds }));
            })();`;
        const result = JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" })) as {
            before: string[];
            after: string[];
            kinds: string[];
        };
        const third = renderMigrations(loadMigrationSources(), DEFAULT_SCHEMA_OPTIONS)[2].sql;
        expect(result.before).toEqual([]);
        expect(result.after).toEqual([join(ROOT, "dist", "parsed-sql", `${sqlKey(third)}.json`)]);
        expect(result.kinds.length).toBeGreaterThan(5);
        expect(result.kinds.every((kind) => !kind.endsWith(":0"))).toBe(true);
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
