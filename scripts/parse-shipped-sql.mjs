#!/usr/bin/env node
// Part of the build (build.mjs runs it on the freshly compiled tree): parses the shipped SQL with the
// real parser once, so no command has to load it at run time for these texts. Every migration rendered
// with each variant's default options, and rollback.sql, go through libpg-query; its output is written to
// <dist>/parsed-sql.json under the SHA-256 of the exact text (engine/migrate/parsed-at-build.ts reads it).
//
//   node scripts/parse-shipped-sql.mjs <compiled dist directory>
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const dist = resolve(process.argv[2] ?? "dist");
const require = createRequire(join(dist, "index.js"));
const { DEFAULT_SCHEMA_OPTIONS, loadMigrationSources, loadRollbackSql, renderMigrations } = require("./engine/migrate/render.js");
const { sqlKey } = require("./engine/migrate/parsed-at-build.js");
const { loadModule, parseSync } = require("libpg-query");

await loadModule();
const sources = loadMigrationSources();
const texts = [
    ...renderMigrations(sources, DEFAULT_SCHEMA_OPTIONS).map((migration) => migration.sql),
    ...renderMigrations(sources, { ...DEFAULT_SCHEMA_OPTIONS, vector: true }).map((migration) => migration.sql),
    loadRollbackSql(),
];
const parsed = Object.fromEntries(texts.map((sql) => [sqlKey(sql), parseSync(sql)]));
writeFileSync(join(dist, "parsed-sql.json"), JSON.stringify(parsed));
