#!/usr/bin/env node
// Part of the build (build.mjs runs it on the freshly compiled tree): parses the shipped SQL with the
// real parser once, so no command has to load it at run time for these texts. Every migration rendered
// with each variant's default options, and rollback.sql, go through libpg-query. Under the SHA-256 of
// the exact text, <dist>/parsed-sql.json gets its statements' spans and kinds, and
// <dist>/parsed-sql/<sha256>.json the parser's whole output (engine/migrate/parsed-at-build.ts reads them).
//
//   node scripts/parse-shipped-sql.mjs <compiled dist directory>
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const dist = resolve(process.argv[2] ?? "dist");
const require = createRequire(join(dist, "index.js"));
const { DEFAULT_SCHEMA_OPTIONS, loadMigrationSources, loadRollbackSql, renderMigrations } = require("./engine/migrate/render.js");
const { sqlKey } = require("./engine/migrate/parsed-at-build.js");
const { statementSpans } = require("./engine/migrate/statements.js");
const { loadModule, parseSync } = require("libpg-query");

await loadModule();
const sources = loadMigrationSources();
const texts = [
    ...renderMigrations(sources, DEFAULT_SCHEMA_OPTIONS).map((migration) => migration.sql),
    ...renderMigrations(sources, { ...DEFAULT_SCHEMA_OPTIONS, vector: true }).map((migration) => migration.sql),
    loadRollbackSql(),
];
const spans = {};
mkdirSync(join(dist, "parsed-sql"));
for (const sql of texts) {
    const key = sqlKey(sql);
    const tree = parseSync(sql);
    spans[key] = statementSpans(sql, tree);
    writeFileSync(join(dist, "parsed-sql", `${key}.json`), JSON.stringify(tree));
}
writeFileSync(join(dist, "parsed-sql.json"), JSON.stringify(spans));
